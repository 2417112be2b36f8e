/**
 * Training comes first: with the chat model on the GPU, a job about to launch unloads it (a
 * message in the chat), chat refuses to load while the job holds the GPU, and loads again once
 * the job has ended. The chat process reports CUDA through its test hook
 * (TUNEDECK_CHAT_REPORT_CUDA), so the host's policy runs on a machine without a GPU.
 * Needs TUNEDECK_PYTHON (the trainer's venv).
 */
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatSendOutput } from '@shared/chat'
import { fixtureTrainer, Harness, processAlive, python, temporaryDir, waitFor } from './jobs.harness'

const dataDir = temporaryDir('tunedeck-chat-gpu-')
let h: Harness
let jobId = ''
let launches = 0
const ask = { compare: null, settings: { temperature: 0, maxNewTokens: 6 }, text: 'What is two plus two?' }

beforeAll(async () => {
  process.env.TUNEDECK_CHAT_REPORT_CUDA = '1'
  // The first job trains for real (its adapter is chatted with); later ones hang until cancelled.
  const trainerCommand = (jobDir: string) =>
    (launches += 1) === 1
      ? { file: python, args: ['-m', 'tunedeck_trainer', 'train', '--job-dir', jobDir] }
      : { file: python, args: [fixtureTrainer, 'hang'] }
  h = new Harness(dataDir, { trainerCommand })
  await h.service.start()
  jobId = (await h.request('jobs.create', { model: { selftest: true }, training: { epochs: 1, maxSteps: 2 } })).id
  expect((await h.waitForStatus(jobId, ['completed', 'failed'], 180_000)).error).toBeNull()
}, 240_000)

afterAll(async () => {
  delete process.env.TUNEDECK_CHAT_REPORT_CUDA
  await h.chat.shutdown()
  await h.service.shutdown()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

async function answered(sent: ChatSendOutput): Promise<string | undefined> {
  const id = sent.panes[0]?.generationId
  await waitFor(
    () => h.payloads('chat.done').some((done) => done.generationId === id),
    60_000,
    () => 'the answer',
  )
  return h.payloads('chat.done').find((done) => done.generationId === id)?.reason
}

describe('the GPU belongs to training first', () => {
  it('unloads the chat before a job launches, refuses to load while it runs, and loads again after', async () => {
    expect(await answered(await h.request('chat.send', { source: { jobId }, ...ask }))).toMatch(/^(eos|length)$/)
    const chatPid = h.chat.pid as number
    expect(processAlive(chatPid)).toBe(true)

    const training = await h.request('jobs.create', { model: { selftest: true }, name: 'needs the GPU' })
    await h.waitForStatus(training.id, 'running')
    const status = await h.request('chat.status', {})
    expect(status).toMatchObject({ state: 'stopped', device: null })
    expect(status.message).toBe(
      'Training "needs the GPU" needs the GPU: the chat model was unloaded. Chat can load again once the GPU is free.',
    )
    expect(processAlive(chatPid)).toBe(false)

    await expect(h.request('chat.send', { source: { jobId }, ...ask })).rejects.toThrow(
      'The GPU is training "needs the GPU": chat can load once it has finished or is paused (training comes first).',
    )
    await h.request('jobs.cancel', { jobId: training.id })
    await h.waitForStatus(training.id, 'cancelled')
    expect(await answered(await h.request('chat.send', { source: { jobId }, ...ask }))).toMatch(/^(eos|length)$/)
  }, 180_000)
})
