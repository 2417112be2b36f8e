/**
 * The host pipeline, measured side by side with the floors of the same machine:
 *
 *   events    a fixture trainer writes N step events as fast as it can; rate from the first
 *             event's write to the last one's arrival at a WebSocket client (stored in SQLite
 *             on the way), against a bare better-sqlite3 loop inserting the same rows in
 *             1,000-row transactions (the storage floor);
 *   terminal  the fixture prints M MB as fast as the pty takes it; rate at the WebSocket client
 *             (written to terminal.log on the way), against `cat` of the same bytes through a
 *             bare node-pty (the pty floor);
 *   latency   events at 10 and 1,000 a second beside 5 MB/s of terminal output, from each
 *             event's write (its time field) to its arrival in the loss chart of a real
 *             Chromium page running the renderer (the chart's data-points attribute).
 *
 * Run: npx electron-vite build && BENCH=full npx vitest run --config bench/vitest.config.ts bench/host_pipeline.test.ts
 * (BENCH unset: the smoke sizes npm test runs; their numbers are printed, not asserted.)
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as pty from 'node-pty'
import { openDatabase } from '../electron/host/store/database'
import { EventClient, floodText, serveHost, stepWriteTimes, until, type ServedHost, type TerminalText } from './pipeline.setup'
import { measureLatency, type LatencyResult } from './pipeline.latency'

/** Sizes of one run. */
export interface PipelineSizes {
  events: number
  terminalMegabytes: number
  /** Seconds of paced events per rate; 0 skips the Chromium latency part. */
  latencySeconds: number
  latencyRates: number[]
  latencyTerminalMegabytesPerSecond: number
}

export const smokeSizes: PipelineSizes = {
  events: 2_000,
  terminalMegabytes: 4,
  latencySeconds: 2,
  latencyRates: [10, 1000],
  latencyTerminalMegabytesPerSecond: 5,
}
export const fullSizes: PipelineSizes = {
  events: 200_000,
  terminalMegabytes: 200,
  latencySeconds: 10,
  latencyRates: [10, 1000],
  latencyTerminalMegabytesPerSecond: 5,
}

/** What one run measured; rates per second, latencies in ms; what was sent and what arrived, to compare. */
export interface PipelineResult {
  /** Step events the fixture wrote, and the steps that reached the WebSocket client. */
  events: { written: number; arrived: number }
  /** What the flood printed, and what reached the WebSocket client. */
  terminal: { printed: TerminalText; received: TerminalText }
  eventsPerSecond: number
  storageFloorEventsPerSecond: number
  terminalMegabytesPerSecond: number
  ptyFloorMegabytesPerSecond: number
  latency: LatencyResult[]
}

async function runJob(served: ServedHost, client: EventClient, scenario: string): Promise<string> {
  served.scenario.current = scenario
  const job = await client.request<{ id: string }>('jobs.create', { model: { selftest: true } })
  return job.id
}

async function finished(client: EventClient, jobId: string): Promise<void> {
  const deadline = Date.now() + 600_000
  for (;;) {
    const job = await client.request<{ status: string; error: unknown }>('jobs.get', { jobId })
    if (job.status === 'completed') return
    if (job.status === 'failed' || job.status === 'cancelled') throw new Error(`bench job ${job.status}: ${JSON.stringify(job.error)}`)
    if (Date.now() > deadline) throw new Error(`bench job still ${job.status}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function measureEvents(
  served: ServedHost,
  client: EventClient,
  count: number,
): Promise<{ rate: number; written: number; arrived: number }> {
  const jobId = await runJob(served, client, `events:${count}`)
  await until(() => (client.steps.get(jobId)?.step ?? 0) >= count, 600_000, `${count} steps at the client`)
  const arrived = client.steps.get(jobId)!.at
  await finished(client, jobId)
  const stored = await client.request<unknown[]>('jobs.metrics', { jobId })
  if (stored.length !== count) throw new Error(`SQLite holds ${stored.length} of ${count} steps`)
  const written = stepWriteTimes(path.join(served.dataDir, 'jobs', jobId))
  // Every step, not only the last: the client records each step it was sent.
  return { rate: count / ((arrived - written.get(1)!) / 1000), written: written.size, arrived: client.stepArrivals.get(jobId)?.size ?? 0 }
}

/** The storage floor: the same rows (a metric and its ingested seq) in 1,000-row transactions. */
export function storageFloor(count: number): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunedeck-floor-'))
  const db = openDatabase(dir)
  try {
    db.prepare("INSERT INTO jobs (id, name, status, config, created_at) VALUES ('floor', 'floor', 'running', '{}', 0)").run()
    const metric = db.prepare(
      'INSERT OR REPLACE INTO metrics (job_id, step, loss, lr, grad_norm, tokens, epoch, tokens_per_second, mfu, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    const seq = db.prepare('INSERT OR IGNORE INTO ingested_events (job_id, seq) VALUES (?, ?)')
    const batch = db.transaction((from: number, to: number) => {
      for (let step = from; step < to; step += 1) {
        metric.run('floor', step, 2 / step, 1e-3, 0.5, 64, step / count, 1000, null, Date.now())
        seq.run('floor', step + 1)
      }
    })
    const started = performance.now()
    for (let from = 1; from <= count; from += 1000) batch(from, Math.min(count + 1, from + 1000))
    return count / ((performance.now() - started) / 1000)
  } finally {
    db.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

async function measureTerminal(
  served: ServedHost,
  client: EventClient,
  megabytes: number,
): Promise<{ rate: number; received: TerminalText }> {
  const before = client.terminalBytes
  client.resetTerminal()
  const jobId = await runJob(served, client, `flood:${megabytes}`)
  await finished(client, jobId)
  // The job has ended; its last terminal line may still be on its way. The caller compares what arrived
  // with what was printed, so a line lost at the trainer's exit shows as a failure, not as a note.
  await until(() => client.floodEnded, 30_000, 'the end of the flood at the client').catch(() => {
    process.stdout.write("note: the flood's last line had not reached the client 30 s after the job ended\n")
  })
  const bytes = client.terminalBytes
  client.terminalBytes += before
  const received = client.terminalTextOf(jobId)
  return { rate: bytes / 1024 / 1024 / ((client.terminalLastAt - client.terminalFirstAt) / 1000), received }
}

/** The pty floor: `cat` of the same bytes (the fixture's flood lines) through a bare node-pty. */
async function ptyFloor(megabytes: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunedeck-floor-'))
  const file = path.join(dir, 'flood.txt')
  const handle = fs.openSync(file, 'w')
  const total = megabytes * 1024 * 1024
  for (let written = 0, number = 0; written < total; number += 640) {
    const block = Array.from({ length: 640 }, (_, index) => `flood line ${String(number + index).padStart(12)} ${'x'.repeat(68)}\r\n`).join(
      '',
    )
    fs.writeSync(handle, block)
    written += block.length
  }
  fs.closeSync(handle)
  let bytes = 0
  let first = 0
  let last = 0
  await new Promise<void>((resolve) => {
    const child = pty.spawn('cat', [file], { cols: 120, rows: 30 })
    child.onData((data) => {
      last = Date.now()
      if (bytes === 0) first = last
      bytes += Buffer.byteLength(data)
    })
    child.onExit(() => resolve())
  })
  fs.rmSync(dir, { recursive: true, force: true })
  return bytes / 1024 / 1024 / ((last - first) / 1000)
}

/** Runs every part at `sizes` and prints the ratios. */
export async function runHostPipeline(sizes: PipelineSizes, log: (line: string) => void = console.log): Promise<PipelineResult> {
  const served = await serveHost()
  const client = new EventClient(served)
  try {
    await client.opened
    const { rate: eventsPerSecond, written, arrived } = await measureEvents(served, client, sizes.events)
    const storageFloorEventsPerSecond = storageFloor(sizes.events)
    log(
      `events: ${Math.round(eventsPerSecond)}/s through the host; storage floor ${Math.round(storageFloorEventsPerSecond)}/s; floor/host ${(storageFloorEventsPerSecond / eventsPerSecond).toFixed(2)}x (goal: >= 50,000/s and <= 2x)`,
    )
    const { rate: terminalMegabytesPerSecond, received } = await measureTerminal(served, client, sizes.terminalMegabytes)
    const ptyFloorMegabytesPerSecond = await ptyFloor(sizes.terminalMegabytes)
    log(
      `terminal: ${terminalMegabytesPerSecond.toFixed(1)} MB/s through the host; pty floor ${ptyFloorMegabytesPerSecond.toFixed(1)} MB/s; floor/host ${(ptyFloorMegabytesPerSecond / terminalMegabytesPerSecond).toFixed(2)}x (goal: >= 20 MB/s and <= 2x)`,
    )
    const latency: LatencyResult[] = []
    if (sizes.latencySeconds > 0) {
      for (const rate of sizes.latencyRates) {
        const result = await measureLatency(served, client, {
          rate,
          seconds: sizes.latencySeconds,
          terminalMegabytesPerSecond: sizes.latencyTerminalMegabytesPerSecond,
        })
        latency.push(result)
        log(
          `latency at ${rate} events/s beside ${sizes.latencyTerminalMegabytesPerSecond} MB/s of terminal: p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms over ${result.samples} events (goal: p99 < 50 ms); at a WebSocket client beside the host p50 ${result.hostP50.toFixed(1)} ms, p99 ${result.hostP99.toFixed(1)} ms`,
        )
      }
    }
    const terminal = { printed: floodText(sizes.terminalMegabytes), received }
    return {
      events: { written, arrived },
      terminal,
      eventsPerSecond,
      storageFloorEventsPerSecond,
      terminalMegabytesPerSecond,
      ptyFloorMegabytesPerSecond,
      latency,
    }
  } finally {
    client.close()
    await served.close()
  }
}
