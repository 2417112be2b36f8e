/**
 * What the app adds to a job: the same job run (a) by the trainer alone from the command line on a
 * prepared job folder, and (b) through a real `serve` (out/main/serve.js as its own process: the
 * queue, node-pty, the event ingestion into SQLite, the WebSocket) with a real Chromium page open
 * on the job, alternating a and b (a b, then b a, ...), after one untimed warm-up run that fills the
 * encoded-data cache both then read.
 *
 *   wall  (a) from spawning the trainer to its exit; (b) from asking the queue to run to the
 *         job.updated event saying the job completed, at a WebSocket client.
 *   idle  the trainer's main thread (which does the compute: one thread, OMP_NUM_THREADS=1) neither
 *         running nor waiting for a core: blocked on I/O, a full pty or pipe, a dataloader worker.
 *         From /proc/PID/task/PID/schedstat sampled every 100 ms (time on a CPU, time runnable but
 *         waiting), so other work on a shared machine does not count as the trainer's idle time.
 *
 * Goal (issue 23, item 3): wall b / a <= 1.02 and idle no more than 2 % of the wall time longer.
 * Full: the qwen2-cpu model over 600 Alpaca rows (bench/app_overhead_setup.py), about two minutes a
 * run on one core; quick (npm test's bench smoke): the self-test model and data, one a/b pair.
 * Run: npx electron-vite build && BENCH=full npx vitest run --config bench/vitest.config.ts bench/app_overhead.test.ts
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { WebSocket } from 'ws'
import type { WireFromHost } from '@shared/api'
import { startServe, stopServe, type Served } from '../tests/e2e/harness'
import { openChromium } from './pipeline.latency'
import { python, repoDir } from './pipeline.setup'
import { sampleSchedule, type Schedule } from './schedstat'

export interface OverheadSizes {
  quick: boolean
  /** a/b pairs after the warm-up. */
  pairs: number
  /** Alpaca rows the full job trains on (one epoch). */
  rows: number
}

export const quickSizes: OverheadSizes = { quick: true, pairs: 1, rows: 0 }
/** 600 rows: about two minutes of one core a run. BENCH_PAIRS and BENCH_ROWS change the sizes (a loaded machine). */
export const fullSizes: OverheadSizes = {
  quick: false,
  pairs: Number(process.env.BENCH_PAIRS ?? 2),
  rows: Number(process.env.BENCH_ROWS ?? 600),
}

/** One run: how it ran, its wall time and its main thread's schedule, seconds. */
export interface Run {
  how: 'cli' | 'app'
  wallSeconds: number
  schedule: Schedule
  exit: string
}

export interface OverheadResult {
  runs: Run[]
  /** Sum of b's walls over sum of a's. */
  wallRatio: number
  /** The same less the time the trainer waited for a core (what other work on the machine adds): b over a. */
  ownRatio: number
  /** Idle seconds per wall second, a's and b's (sums over their runs). */
  idleShare: { cli: number; app: number }
}

/** The job both ways: the job's settings as jobs.create takes them. */
function jobInput({ quick, rows }: OverheadSizes, work: string): Record<string, unknown> {
  if (quick) return { name: 'overhead', model: { selftest: true }, training: { epochs: 1, seed: 0 } }
  const setup = spawnSync(process.execPath, ['scripts/python.mjs', 'bench/app_overhead_setup.py', '--out', work, '--rows', String(rows)], {
    cwd: repoDir,
    encoding: 'utf8',
  })
  if (setup.status !== 0) throw new Error(`bench/app_overhead_setup.py failed:\n${setup.stderr}`)
  const made = JSON.parse(setup.stdout.trim().split('\n').pop() ?? '{}') as { model: string; dataset: string; maxSeqLength: number }
  return {
    name: 'overhead',
    model: { path: made.model },
    dataset: { path: made.dataset, format: 'alpaca' },
    lora: { rank: 8, alpha: 16, dropout: 0.05 },
    training: { epochs: 1, batchSize: 1, gradientAccumulation: 4, maxSeqLength: made.maxSeqLength, packing: true, seed: 0 },
  }
}

/** A WebSocket client of serve: requests, and a wait for a job's end. */
class Client {
  private readonly socket: WebSocket
  private nextId = 1
  private readonly pending = new Map<number, (message: WireFromHost) => void>()
  private readonly ends = new Map<string, (status: string) => void>()
  readonly opened: Promise<void>

  constructor(served: Served) {
    const token = new URL(served.url).hash.replace('#token=', '')
    this.socket = new WebSocket(`${served.origin.replace('http', 'ws')}/ws?token=${token}`)
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve())
      this.socket.once('error', reject)
    })
    this.socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as WireFromHost
      if (message.kind === 'response') {
        this.pending.get(message.id)?.(message)
        this.pending.delete(message.id)
      } else if (message.event === 'job.updated') {
        const job = message.payload as { id: string; status: string }
        if (['completed', 'failed', 'cancelled'].includes(job.status)) this.ends.get(job.id)?.(job.status)
      }
    })
  }

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

  /** Resolves with the job's last status once it has ended (call before the job can end). */
  ended(jobId: string): Promise<string> {
    return new Promise((resolve) => this.ends.set(jobId, resolve))
  }

  close(): void {
    this.socket.close()
  }
}

/** The trainer's environment as the host gives it (PYTHONPATH, the encoded cache), one thread. */
function trainerEnvironment(served: Served): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: path.join(repoDir, 'python-runtime'),
    PYTHONUNBUFFERED: '1',
    HF_HUB_OFFLINE: '1',
    TUNEDECK_ENCODED_CACHE: path.join(served.dataDir, 'cache', 'encoded'),
  }
}

/** (a): the trainer CLI on a fresh folder holding the app's config.json for the job. */
async function runCli(served: Served, config: string, folder: string, maxSteps?: number): Promise<Run> {
  fs.mkdirSync(folder, { recursive: true })
  const settings = JSON.parse(fs.readFileSync(config, 'utf8')) as { training: Record<string, unknown> }
  if (maxSteps !== undefined) settings.training.maxSteps = maxSteps
  fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify(settings, null, 2))
  const log = fs.openSync(path.join(folder, 'terminal.log'), 'w')
  const started = performance.now()
  const child = spawn(python, ['-m', 'tunedeck_trainer', 'train', '--job-dir', folder], {
    cwd: repoDir,
    env: trainerEnvironment(served),
    stdio: ['ignore', log, log],
  })
  const sampler = sampleSchedule(() => child.pid ?? null)
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)))
  const wallSeconds = (performance.now() - started) / 1000
  fs.closeSync(log)
  return { how: 'cli', wallSeconds, schedule: sampler.stop(), exit: code === 0 ? 'completed' : `exit ${code}` }
}

/** The pid of the trainer running on `jobDir`, found by its command line. */
function trainerPid(jobDir: string): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const command = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      if (command.includes('tunedeck_trainer') && command.includes(jobDir)) return Number(entry)
    } catch {
      // gone meanwhile
    }
  }
  return null
}

type Page = Awaited<ReturnType<typeof openChromium>>['page']

/** (b): the job through serve, its page open in Chromium from before it starts. */
async function runApp(served: Served, client: Client, page: Page, input: Record<string, unknown>): Promise<Run & { jobId: string }> {
  await client.request('queue.set', { running: false })
  const job = await client.request<{ id: string }>('jobs.create', input)
  await page.goto(served.url)
  await page.waitForSelector('[data-testid="new-job-button"], [data-testid="job-name"]', { timeout: 60_000 })
  await page.evaluate(`window.location.hash = '#/jobs/${job.id}'`)
  await page.waitForSelector('[data-testid="loss-chart"]', { timeout: 60_000 })
  const jobDir = path.join(served.dataDir, 'jobs', job.id)
  const ended = client.ended(job.id)
  const started = performance.now()
  await client.request('queue.set', { running: true })
  const sampler = sampleSchedule(() => trainerPid(jobDir))
  const status = await ended
  const wallSeconds = (performance.now() - started) / 1000
  return { how: 'app', jobId: job.id, wallSeconds, schedule: sampler.stop(), exit: status }
}

function sum(runs: Run[], value: (run: Run) => number): number {
  return runs.reduce((total, run) => total + value(run), 0)
}

/** Runs the warm-up and the a/b pairs; prints each run and the ratios. */
export async function runAppOverhead(sizes: OverheadSizes, log: (line: string) => void = console.log): Promise<OverheadResult> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tunedeck-bench-overhead-'))
  const threads = process.env.OMP_NUM_THREADS
  process.env.OMP_NUM_THREADS = '1' // serve passes it to its trainers; the CLI runs get it too
  let served: Served | undefined
  let browser: Awaited<ReturnType<typeof openChromium>> | undefined
  let client: Client | undefined
  try {
    const input = jobInput(sizes, work)
    served = await startServe()
    client = new Client(served)
    await client.opened
    browser = await openChromium()
    // The app's own config.json of the job, for the CLI runs: the same settings, defaults filled in.
    const template = await client.request<{ id: string }>('jobs.create', { ...input, name: 'template' })
    const config = path.join(served.dataDir, 'jobs', template.id, 'config.json')
    await client.request('jobs.delete', { jobId: template.id }).catch(() => undefined)
    const kept = path.join(work, 'config.json')
    if (fs.existsSync(config)) fs.copyFileSync(config, kept)
    else throw new Error(`serve wrote no ${config}`)
    // One step fills the encoded cache (its key does not hold maxSteps) and the file cache for every run after.
    if (!sizes.quick)
      log(
        `warm-up (one step; encodes the data into the cache): ${(await runCli(served, kept, path.join(work, 'warm-up'), 1)).wallSeconds.toFixed(1)} s`,
      )
    const runs: Run[] = []
    for (let pair = 0; pair < sizes.pairs; pair += 1) {
      for (const how of pair % 2 === 0 ? ['cli', 'app'] : ['app', 'cli']) {
        const run =
          how === 'cli' ? await runCli(served, kept, path.join(work, `cli-${pair}`)) : await runApp(served, client, browser.page, input)
        const { schedule } = run
        log(
          `${how}: ${run.exit} in ${run.wallSeconds.toFixed(2)} s; trainer main thread over ${schedule.spanSeconds.toFixed(1)} s: on a CPU ${schedule.runSeconds.toFixed(1)} s, waiting for one ${schedule.waitSeconds.toFixed(1)} s, idle ${schedule.idleSeconds.toFixed(2)} s (${schedule.samples} samples); machine load ${os.loadavg()[0]?.toFixed(1)}`,
        )
        runs.push(run)
      }
    }
    const cli = runs.filter((run) => run.how === 'cli')
    const app = runs.filter((run) => run.how === 'app')
    const wallRatio = sum(app, (run) => run.wallSeconds) / sum(cli, (run) => run.wallSeconds)
    const own = (run: Run) => run.schedule.spanSeconds - run.schedule.waitSeconds
    const ownRatio = sum(app, own) / sum(cli, own)
    const idleShare = {
      cli: sum(cli, (run) => run.schedule.idleSeconds) / sum(cli, (run) => run.schedule.spanSeconds),
      app: sum(app, (run) => run.schedule.idleSeconds) / sum(app, (run) => run.schedule.spanSeconds),
    }
    log(
      `app / trainer alone: wall ${wallRatio.toFixed(3)}x (goal <= 1.02), ${ownRatio.toFixed(3)}x without the trainer's waits for a core; trainer idle ${(100 * idleShare.cli).toFixed(2)} % of the time alone, ${(100 * idleShare.app).toFixed(2)} % through the app: ${(100 * (idleShare.app - idleShare.cli)).toFixed(2)} points more (goal <= 2)`,
    )
    return { runs, wallRatio, ownRatio, idleShare }
  } finally {
    client?.close()
    await browser?.close()
    await stopServe(served)
    if (threads === undefined) delete process.env.OMP_NUM_THREADS
    else process.env.OMP_NUM_THREADS = threads
    fs.rmSync(work, { recursive: true, force: true })
  }
}
