/**
 * What the host-pipeline benchmark runs on: the real host (createHost) with
 * the scripted fixture trainer, served over HTTP + WebSocket (startServer)
 * from a temporary data folder, and a WebSocket client that timestamps every
 * event as it arrives.
 */
import { createHash, type Hash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import type { WireFromHost } from '@shared/api'
import { createHost, type Host } from '../electron/host/host'
import { startServer, type RunningServer } from '../electron/host/transport/server'

export const repoDir = fileURLToPath(new URL('..', import.meta.url))
export const fixtureTrainer = path.join(repoDir, 'tests', 'fixtures', 'trainers', 'scripted.py')
export const python = process.env.TUNEDECK_PYTHON || 'python3'

/** A served host whose jobs run `scripted.py <scenario.current>`. */
export interface ServedHost {
  host: Host
  server: RunningServer
  dataDir: string
  scenario: { current: string }
  close(): Promise<void>
}

/** Starts the host and its server on a free port, over a fresh data folder. */
export async function serveHost(): Promise<ServedHost> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunedeck-bench-'))
  const scenario = { current: 'complete' }
  const host = createHost({
    dataDir,
    resourcesDir: path.join(repoDir, 'resources'),
    pythonRuntimeDir: path.join(repoDir, 'python-runtime'),
    appVersion: '0.1.0-bench',
    trainerCommand: () => ({ file: python, args: [fixtureTrainer, scenario.current] }),
  })
  await host.start()
  const server = await startServer(host, {
    port: 0,
    rendererDir: path.join(repoDir, 'out', 'renderer'),
    roots: null,
    token: 'bench-token-0123456789abcdefghijklmnopqrstuvwxyz',
  })
  return {
    host,
    server,
    dataDir,
    scenario,
    async close() {
      await server.close()
      await host.shutdown()
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Text through the terminal, carriage returns left out: its length in bytes and its sha256. */
export interface TerminalText {
  bytes: number
  sha256: string
}

/** What tests/fixtures/trainers/scripted.py prints for `flood:MB`, carriage returns left out. */
export function floodText(megabytes: number): TerminalText {
  const hash = createHash('sha256')
  let bytes = 0
  const add = (text: string) => {
    hash.update(text)
    bytes += Buffer.byteLength(text)
  }
  add('flood begins\n')
  const total = Math.floor(megabytes * 1024 * 1024)
  let number = 0
  for (let written = 0; written < total; number += 640) {
    const block = Array.from({ length: 640 }, (_, index) => `flood line ${String(number + index).padStart(12)} ${'x'.repeat(68)}\r\n`).join(
      '',
    )
    written += Buffer.byteLength(block)
    add(block.replaceAll('\r', ''))
  }
  add(`flood ends after ${number} lines\n`)
  return { bytes, sha256: hash.digest('hex') }
}

/** A WebSocket client of the served host that keeps counters, not payloads. */
export class EventClient {
  private readonly socket: WebSocket
  private nextId = 1
  private readonly pending = new Map<number, (message: WireFromHost) => void>()
  /** Highest step received per job from job.metrics, and when (ms). */
  readonly steps = new Map<string, { step: number; at: number }>()
  /** When each step of each job arrived here (ms), for the host's share of the latency. */
  readonly stepArrivals = new Map<string, Map<number, number>>()
  terminalBytes = 0
  /** Each job's terminal text as received, carriage returns left out (the pty adds them): its length and sha256. */
  private readonly terminalTexts = new Map<string, { bytes: number; hash: Hash }>()
  terminalFirstAt = 0
  terminalLastAt = 0
  lastTerminalText = ''
  /** Set once a fixture flood's last line has arrived; later output (the trainer's own last lines) does not unset it. */
  floodEnded = false
  readonly opened: Promise<void>

  constructor(served: ServedHost) {
    this.socket = new WebSocket(`ws://127.0.0.1:${served.server.port}/ws?token=${served.server.token}`)
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve())
      this.socket.once('error', reject)
    })
    this.socket.on('message', (data) => this.receive(JSON.parse(data.toString()) as WireFromHost))
  }

  private receive(message: WireFromHost): void {
    const now = Date.now()
    if (message.kind === 'response') {
      this.pending.get(message.id)?.(message)
      this.pending.delete(message.id)
      return
    }
    if (message.event === 'job.metrics') {
      const { jobId, points } = message.payload as { jobId: string; points: { step: number }[] }
      // A loop, not Math.max(...): a batch read after a burst can hold more points than a call takes arguments.
      let top = this.steps.get(jobId)?.step ?? 0
      for (const point of points) top = Math.max(top, point.step)
      this.steps.set(jobId, { step: top, at: now })
      const arrivals = this.stepArrivals.get(jobId) ?? new Map<number, number>()
      for (const point of points) if (!arrivals.has(point.step)) arrivals.set(point.step, now)
      this.stepArrivals.set(jobId, arrivals)
    } else if (message.event === 'job.terminal') {
      const { data, jobId } = message.payload as { data: string; jobId: string }
      if (this.terminalBytes === 0) this.terminalFirstAt = now
      this.terminalBytes += Buffer.byteLength(data)
      const text = data.replaceAll('\r', '')
      const received = this.terminalTexts.get(jobId) ?? { bytes: 0, hash: createHash('sha256') }
      received.bytes += Buffer.byteLength(text)
      received.hash.update(text)
      this.terminalTexts.set(jobId, received)
      this.terminalLastAt = now
      this.lastTerminalText = (this.lastTerminalText + data).slice(-200)
      if (/flood ends after \d+ lines/.test(this.lastTerminalText)) this.floodEnded = true
    }
  }

  /** Starts counting the terminal bytes afresh. */
  resetTerminal(): void {
    this.terminalBytes = 0
    this.floodEnded = false
  }

  /** The terminal text a job sent this client (carriage returns left out). */
  terminalTextOf(jobId: string): TerminalText {
    const received = this.terminalTexts.get(jobId)
    return { bytes: received?.bytes ?? 0, sha256: (received?.hash.copy() ?? createHash('sha256')).digest('hex') }
  }

  /** Calls a route; throws the host's error message when it answers with one. */
  request<T>(route: string, input: unknown): Promise<T> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, (message) => {
        if (message.kind !== 'response') return
        if (message.ok) resolve(message.output as T)
        else reject(new Error(`${route}: ${message.error.message}`))
      })
      this.socket.send(JSON.stringify({ kind: 'request', id, route, input }))
    })
  }

  close(): void {
    this.socket.close()
  }
}

/** Polls `condition` every 5 ms until it holds; throws after `timeoutMs` with `what`. */
export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Step times (ms) as the trainer wrote them into events.jsonl. */
export function stepWriteTimes(jobDir: string): Map<number, number> {
  const times = new Map<number, number>()
  for (const line of fs.readFileSync(path.join(jobDir, 'events.jsonl'), 'utf8').split('\n')) {
    if (!line.includes('"type": "step"')) continue
    const event = JSON.parse(line) as { step: number; time: number }
    times.set(event.step, event.time * 1000)
  }
  return times
}
