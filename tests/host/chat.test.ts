/**
 * Chat through the host with the REAL chat process (python-runtime) on the CPU and the adapter
 * of a real self-test job (and library adapters made from it): both panes stream and are kept,
 * Stop, idle unload, a process killed mid-answer and its restart, and the errors a user can cause.
 * Needs TUNEDECK_PYTHON (the trainer's venv). About a minute on 2 cores.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatDone, ChatSendOutput } from '@shared/chat'
import { selftestModelPath } from '../../electron/host/jobs/config'
import { adapterFiles, writeFile, zipOf } from './adapters.helpers'
import { Harness, processAlive, temporaryDir, waitFor } from './jobs.harness'

const dataDir = temporaryDir('tunedeck-chat-')
let h: Harness
let jobId = ''
const question = 'What is two plus two?'

beforeAll(async () => {
  // Slow tokens a little so that Stop and a kill land mid-answer.
  process.env.TUNEDECK_CHAT_TOKEN_DELAY = '0.02'
  h = new Harness(dataDir, {}, { heartbeatSeconds: 1, minuteMs: 1000 })
  await h.service.start()
  const created = await h.request('jobs.create', { model: { selftest: true }, training: { epochs: 1, maxSteps: 4 } })
  jobId = created.id
  const job = await h.waitForStatus(jobId, ['completed', 'failed'], 180_000)
  expect(job.error).toBeNull()
}, 240_000)

afterAll(async () => {
  delete process.env.TUNEDECK_CHAT_TOKEN_DELAY
  await h.chat.shutdown()
  await h.service.shutdown()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

/** Waits for every pane's chat.done and returns them, with the text their tokens streamed. */
async function answers(sent: ChatSendOutput, timeoutMs = 60_000): Promise<Array<{ done: ChatDone; streamed: string }>> {
  const ids = sent.panes.map((pane) => pane.generationId)
  const find = () => ids.map((id) => h.payloads('chat.done').find((done) => done.generationId === id))
  await waitFor(
    () => find().every(Boolean),
    timeoutMs,
    () => 'both answers to end',
  )
  return find().map((done) => ({
    done: done as ChatDone,
    streamed: h
      .payloads('chat.token')
      .filter((token) => token.generationId === done?.generationId)
      .map((token) => token.text)
      .join(''),
  }))
}

function firstToken(sent: ChatSendOutput) {
  const ids = new Set(sent.panes.map((pane) => pane.generationId))
  return waitFor(
    () => h.payloads('chat.token').some((token) => ids.has(token.generationId)),
    30_000,
    () => 'a first token',
  )
}

describe('chat through the host', () => {
  it('streams the tuned and the base pane at once, and keeps the conversation', async () => {
    const sent = await h.request('chat.send', {
      source: { jobId },
      compare: 'base',
      settings: { temperature: 0, maxNewTokens: 24 },
      text: question,
    })
    expect(sent.panes.map((pane) => [pane.pane, pane.label])).toEqual([
      ['primary', 'Self-test'],
      ['compare', 'Base model'],
    ])
    expect(sent.panes[0]?.prompt).toBe(`<|im_start|>user\n${question}<|im_end|>\n<|im_start|>assistant\n`)
    const [tuned, base] = await answers(sent)
    for (const pane of [tuned, base]) {
      expect(['eos', 'length']).toContain(pane?.done.reason)
      expect(pane?.streamed).toBe(pane?.done.text)
    }
    expect(base?.done.text).not.toBe(tuned?.done.text)
    const status = await h.request('chat.status', {})
    expect(status).toMatchObject({ state: 'ready', device: 'cpu', generating: 0 })
    expect(status.message).toContain('CPU')
    // Kept in SQLite: the question, then each pane's answer with its exact prompt.
    const kept = await h.request('chat.conversation', { conversationId: sent.conversation.id })
    expect(kept.turns.map((turn) => [turn.role, turn.pane, turn.content])).toEqual([
      ['user', null, question],
      ['assistant', 'primary', tuned?.done.text],
      ['assistant', 'compare', base?.done.text],
    ])
    expect(kept.turns[1]?.prompt).toBe(sent.panes[0]?.prompt)
    const listed = await h.request('chat.conversations', { source: { jobId, checkpoint: null } })
    expect(listed.map((conversation) => [conversation.id, conversation.title])).toEqual([[sent.conversation.id, question]])
  }, 120_000)

  it('ends a long answer on Stop, keeping what was generated', async () => {
    const sent = await h.request('chat.send', {
      source: { jobId },
      compare: null,
      settings: { temperature: 1, maxNewTokens: 2000, seed: 5 },
      text: 'Tell me a long story.',
    })
    await firstToken(sent)
    const asked = Date.now()
    await h.request('chat.stop', { conversationId: sent.conversation.id })
    const [only] = await answers(sent, 5000)
    const elapsed = Date.now() - asked
    console.log(`Stop: the answer ended ${elapsed} ms after chat.stop, after ${only?.done.tokens} tokens`)
    expect(only?.done.reason).toBe('stopped')
    expect(only?.done.tokens).toBeLessThan(2000) // cut short; how soon is printed above, not asserted on a shared CI
    const kept = await h.request('chat.conversation', { conversationId: sent.conversation.id })
    expect(kept.turns.at(-1)).toMatchObject({ role: 'assistant', reason: 'stopped', content: only?.done.text })
  }, 60_000)

  it('says so when the process dies mid-answer, and answers again after a restart', async () => {
    const sent = await h.request('chat.send', {
      source: { jobId },
      compare: 'base',
      settings: { temperature: 1, maxNewTokens: 2000 },
      text: 'Another long story.',
    })
    await firstToken(sent)
    const pid = h.chat.pid as number
    process.kill(pid, 'SIGKILL')
    const ended = await answers(sent, 10_000)
    for (const pane of ended) {
      expect(pane.done.reason).toBe('error')
      expect(pane.done.message).toContain('The chat process stopped unexpectedly')
    }
    expect(await h.request('chat.status', {})).toMatchObject({ state: 'failed', device: null })
    const restarted = await h.request('chat.restart', {})
    expect(restarted).toMatchObject({ state: 'ready', device: 'cpu' })
    expect(h.chat.pid).not.toBe(pid)
    const again = await h.request('chat.send', {
      conversationId: sent.conversation.id,
      source: { jobId },
      compare: 'base',
      settings: { temperature: 0, maxNewTokens: 8 },
      text: 'Short, please.',
    })
    const [tuned] = await answers(again)
    expect(['eos', 'length']).toContain(tuned?.done.reason)
  }, 120_000)

  it('refuses a prompt longer than the context and keeps nothing of it', async () => {
    const before = (await h.request('chat.conversations', { source: null })).length
    await expect(h.request('chat.send', { source: { jobId }, compare: 'base', text: 'two plus two '.repeat(400) })).rejects.toThrow(
      /longer than the model's context of 512 tokens/,
    )
    expect(await h.request('chat.conversations', { source: null })).toHaveLength(before)
  }, 60_000)

  it('names the missing base model of an adapter', async () => {
    const base = selftestModelPath(dataDir)
    fs.renameSync(base, `${base}.away`)
    try {
      await expect(h.request('chat.send', { source: { jobId }, compare: 'base', text: question })).rejects.toThrow(
        `${base} has no config.json`,
      )
    } finally {
      fs.renameSync(`${base}.away`, base)
    }
  })

  it("chats with a library adapter: a combined copy answers as the job's own, its conversations kept and deleted with it", async () => {
    // The job's adapter averaged with itself is the same adapter: the greedy answer must not change.
    const copy = await h.request('adapters.combine', { name: 'Self-test twice', mode: 'average', sources: [{ jobId }, { jobId }] })
    const greedy = { temperature: 0, maxNewTokens: 16 }
    const fromJob = await h.request('chat.send', {
      source: { jobId },
      compare: null,
      settings: { ...greedy, maxNewTokens: 2000 },
      text: 'Tell me a long story.',
    })
    // Loading other adapters while an answer streams would cut it off: refused until it ends.
    await expect(
      h.request('chat.send', { source: { adapterId: copy.id }, compare: null, settings: greedy, text: question }),
    ).rejects.toThrow('Another conversation is still answering with tiny-selftest + Self-test: wait for it or press Stop there')
    await h.request('chat.stop', { conversationId: fromJob.conversation.id })
    await answers(fromJob)
    const again = await h.request('chat.send', { source: { jobId }, compare: null, settings: greedy, text: question })
    const [job] = await answers(again)
    const fromLibrary = await h.request('chat.send', {
      source: { adapterId: copy.id },
      compare: { jobId },
      settings: greedy,
      text: question,
    })
    expect(fromLibrary.panes.map((pane) => [pane.pane, pane.label])).toEqual([
      ['primary', 'Self-test twice'],
      ['compare', 'Self-test'],
    ])
    const [library, beside] = await answers(fromLibrary)
    expect(library?.done.text).toBe(job?.done.text)
    expect(beside?.done.text).toBe(job?.done.text)
    expect(fromLibrary.panes[0]?.prompt).toBe(`<|im_start|>user\n${question}<|im_end|>\n<|im_start|>assistant\n`)
    const kept = await h.request('chat.conversations', { source: { adapterId: copy.id } })
    expect(kept.map((conversation) => [conversation.id, conversation.source])).toEqual([
      [fromLibrary.conversation.id, { adapterId: copy.id }],
    ])
    // Deleting the adapter deletes its conversations; the job's stay.
    await h.request('adapters.delete', { adapterId: copy.id })
    expect(await h.request('chat.conversations', { source: { adapterId: copy.id } })).toEqual([])
    await expect(h.request('chat.conversation', { conversationId: fromLibrary.conversation.id })).rejects.toThrow(/No conversation/)
    expect(
      (await h.request('chat.conversations', { source: { jobId, checkpoint: null } })).map((conversation) => conversation.id),
    ).toContain(again.conversation.id)
    await expect(h.request('chat.send', { source: { adapterId: copy.id }, compare: null, text: question })).rejects.toThrow(
      `there is no adapter "${copy.id}" in the library`,
    )
  }, 120_000)

  it('names a library adapter whose base model was never downloaded', async () => {
    const zip = writeFile(
      path.join(dataDir, 'friend.zip'),
      await zipOf(Object.entries(adapterFiles({ seed: 1 })).map(([name, data]) => ({ name, data }))),
    )
    const friend = await h.request('adapters.import', { path: zip })
    await expect(h.request('chat.send', { source: { adapterId: friend.id }, compare: 'base', text: question })).rejects.toThrow(
      'The base model of "friend", tunedeck-test/absent-base, is not downloaded: download it on the Models page',
    )
  })

  it('unloads after the idle time the user set', async () => {
    await h.request('chat.set_idle', { minutes: 1 }) // a "minute" is a second in this test
    const sent = await h.request('chat.send', {
      source: { jobId },
      compare: null,
      settings: { temperature: 0, maxNewTokens: 4 },
      text: question,
    })
    await answers(sent)
    const pid = h.chat.pid as number
    await waitFor(
      async () => (await h.request('chat.status', {})).state === 'stopped',
      10_000,
      () => 'the idle unload',
    )
    const status = await h.request('chat.status', {})
    expect(status.message).toBe('Unloaded after 1 minutes without a question.')
    await waitFor(
      () => !processAlive(pid),
      10_000,
      () => 'the chat process to exit',
    )
  }, 60_000)
})
