/**
 * Load: four WebSocket clients of a real serve mix jobs.list, jobs.metrics, jobs.terminal and
 * dataset previews (the real trainer's loader) for as long as a job trains: the scripted
 * trainer's `paced` scenario, 20 step events a second for 6 s while it prints 50 KB a second
 * to its pty. Every request must be answered, every step must reach the store and every
 * client, every client must see the same terminal bytes, and the host's heap after GC must
 * come back to its level before the load (within a generous margin; the numbers are printed).
 * Needs TUNEDECK_PYTHON (previews). About 20 s.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WireResponse } from '@shared/api'
import type { Job, MetricPoint } from '@shared/jobs'
import { fixtureTrainer, selftestDataset } from './jobs.harness'
import { trainerPython } from './trainerPython'
import { startWireServe, type WireClient, type WireServe } from './wireServe'

const python = trainerPython()
const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-load-'))
const rate = 20
const seconds = 6
const steps = rate * seconds
/** The heap may grow this much and still count as back to its level: caches, JIT feedback, the allocator's slack. */
const heapMarginBytes = 32 * 1024 * 1024
let serve: WireServe

setFlagsFromString('--expose-gc')
const collect = runInNewContext('gc') as () => void

/** heapUsed after two full collections, in bytes. */
async function settledHeap(): Promise<number> {
  for (let round = 0; round < 2; round += 1) {
    collect()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}

beforeAll(async () => {
  serve = await startWireServe({
    workDir,
    roots: [join(selftestDataset(), '..')],
    host: { trainerCommand: () => ({ file: python, args: [fixtureTrainer, `paced:${rate}:${seconds}:0.05`] }) },
  })
})

afterAll(async () => {
  await serve?.stop()
  rmSync(workDir, { recursive: true, force: true })
})

/** One client's requests, round after round, until `done()`; returns how many it sent and every answer that failed. */
async function mix(
  client: WireClient,
  jobId: string,
  done: () => boolean,
  index: number,
): Promise<{ sent: number; failed: WireResponse[] }> {
  let sent = 0
  const failed: WireResponse[] = []
  for (let round = 0; !done(); round += 1) {
    const requests = [
      client.request('jobs.list', {}),
      client.request('jobs.metrics', { jobId, maxPoints: 64 }),
      client.request('jobs.metrics', { jobId }),
      client.request('jobs.terminal', { jobId }),
    ]
    // A preview starts a Python process: one in every eight rounds, staggered between the clients.
    if ((round + index * 2) % 8 === 0) requests.push(client.request('datasets.preview', { path: selftestDataset(), limit: 5 }))
    const answers = await Promise.all(requests)
    sent += answers.length
    failed.push(...answers.filter((answer) => !answer.ok))
  }
  return { sent, failed }
}

describe('load', () => {
  it('answers four clients while a job trains, delivers every event to each, and gives the memory back', async () => {
    const warm = await serve.connect()
    const warmed = await warm.request('datasets.preview', { path: selftestDataset(), limit: 5 })
    expect(warmed.ok).toBe(true)
    await warm.close()
    const before = await settledHeap()

    const clients = await Promise.all([0, 1, 2, 3].map(() => serve.connect()))
    const created = await clients[0]!.request('jobs.create', { model: { selftest: true }, name: 'load' })
    if (!created.ok) throw new Error(created.error.message)
    const jobId = (created.output as Job).id
    let ended = false
    const ending = (async () => {
      const [watcher] = clients
      for (;;) {
        const answer = await watcher!.request('jobs.get', { jobId })
        if (answer.ok && ['completed', 'failed', 'cancelled'].includes((answer.output as Job).status)) return answer.output as Job
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    })().finally(() => (ended = true))
    const results = await Promise.all(clients.map((client, index) => mix(client, jobId, () => ended, index)))
    const job = await ending
    expect(job.status).toBe('completed')

    const sent = results.reduce((total, result) => total + result.sent, 0)
    expect(results.flatMap((result) => result.failed)).toEqual([])
    const stored = await clients[0]!.request('jobs.metrics', { jobId })
    expect(stored.ok && (stored.output as MetricPoint[]).map((point) => point.step)).toEqual(
      Array.from({ length: steps }, (_, index) => index + 1),
    )
    const terminals: string[] = []
    for (const client of clients) {
      const received = client.events.filter(
        (event) => event.event === 'job.metrics' && (event.payload as { jobId: string }).jobId === jobId,
      )
      const seenSteps = new Set(received.flatMap((event) => (event.payload as { points: MetricPoint[] }).points.map((point) => point.step)))
      expect(seenSteps.size).toBe(steps)
      terminals.push(
        client.events
          .filter((event) => event.event === 'job.terminal' && (event.payload as { jobId: string }).jobId === jobId)
          .map((event) => (event.payload as { data: string }).data)
          .join(''),
      )
    }
    expect(terminals[0]!.length).toBeGreaterThan(0)
    expect(new Set(terminals).size).toBe(1)
    const tail = await clients[0]!.request('jobs.terminal', { jobId })
    expect(tail.ok && terminals[0]!.endsWith((tail.output as { text: string }).text)).toBe(true)

    for (const client of clients) await client.close()
    clients.length = 0
    terminals.length = 0
    const after = await settledHeap()
    const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
    console.log(
      `load: ${sent} requests from 4 clients, none failed; ${steps} steps in the store and at each client; heap after GC ${mb(before)} MB before, ${mb(after)} MB after (margin ${mb(heapMarginBytes)} MB)`,
    )
    expect(after - before).toBeLessThan(heapMarginBytes)
  }, 300_000)
})
