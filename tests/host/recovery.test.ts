/**
 * Crash and shutdown recovery of the real headless host (out/main/serve.js as
 * a child process) running the real self-test trainer on CPU:
 *   - SIGKILL of serve mid-job: the trainer notices its pty hang up, saves a
 *     pause checkpoint and exits; the restarted host shows the job paused with
 *     every step the trainer wrote, and resuming it runs it to completed
 *     (tests/host/host-crash.test.ts checks the losses step by step);
 *   - SIGTERM mid-job: the job ends paused with a checkpoint and serve exits 0.
 * Builds out/ first when it is older than the sources.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { WireFromHost } from '@shared/api'
import type { Checkpoint, Job, MetricPoint } from '@shared/jobs'
import { trainerPython } from './trainerPython'
import { checked } from './routes'

const ciPython = trainerPython()
const repoDir = resolve(__dirname, '../..')
const serveScript = join(repoDir, 'out', 'main', 'serve.js')
const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-recovery-'))
const dataDir = join(workDir, 'data')
const servers = new Set<ChildProcess>()

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return latest
}

beforeAll(() => {
  const sources = Math.max(newest(join(repoDir, 'electron', 'host')), newest(join(repoDir, 'electron', 'shared')))
  if (!existsSync(serveScript) || statSync(serveScript).mtimeMs < sources) {
    try {
      execFileSync('npx', ['electron-vite', 'build'], { cwd: repoDir, stdio: 'pipe' })
    } catch (error) {
      const output = String((error as { stderr?: Buffer }).stderr ?? '').slice(-2000)
      throw new Error(`out/ is older than the sources and npx electron-vite build failed:\n${output}`)
    }
  }
})

afterAll(() => {
  for (const child of servers) child.kill('SIGKILL')
  rmSync(workDir, { recursive: true, force: true })
})

/** A running serve child with a WebSocket client on it. */
interface Serve {
  child: ChildProcess
  exited: Promise<number | null>
  request<T>(route: string, input: unknown): Promise<T>
  /** Resolves with the first event payload that `match` accepts (events seen earlier count). */
  waitFor<T>(event: string, match: (payload: T) => boolean, timeoutMs?: number): Promise<T>
  close(): void
}

async function startServe(): Promise<Serve> {
  const child = spawn(process.execPath, [serveScript, '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, TUNEDECK_PYTHON: ciPython },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  servers.add(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => (servers.delete(child), done(code))))
  const url = await new Promise<URL>((done, fail) => {
    let stdout = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /^Tunedeck is serving at (http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)$/m.exec(stdout)
      if (match?.[1]) done(new URL(match[1]))
    })
    void exited.then((code) => fail(new Error(`serve exited with ${code}: ${stderr}`)))
  })
  const token = new URLSearchParams(url.hash.slice(1)).get('token')
  const ws = new WebSocket(`ws://${url.host}/ws?token=${token}`, { headers: { origin: url.origin } })
  await new Promise((done, fail) => ws.on('open', done).on('error', fail))
  const seen: Array<{ event: string; payload: unknown }> = []
  const waiters = new Set<() => void>()
  const pending = new Map<number, (message: WireFromHost) => void>()
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as WireFromHost
    if (message.kind === 'response') return pending.get(message.id)?.(message)
    seen.push({ event: message.event, payload: message.payload })
    for (const wake of waiters) wake()
  })
  let nextId = 1
  return {
    child,
    exited,
    request<T>(route: string, input: unknown) {
      const id = nextId++
      return new Promise<T>((done, fail) => {
        pending.set(id, (message) => {
          pending.delete(id)
          if (message.kind !== 'response') return
          if (message.ok) done(checked(route, message).output as T)
          else fail(new Error(`${route}: ${message.error.code}: ${message.error.message}`))
        })
        ws.send(JSON.stringify({ kind: 'request', id, route, input }))
      })
    },
    waitFor<T>(event: string, match: (payload: T) => boolean, timeoutMs = 90_000) {
      return new Promise<T>((done, fail) => {
        const check = (): void => {
          const found = seen.find((item) => item.event === event && match(item.payload as T))
          if (!found) return
          waiters.delete(check)
          clearTimeout(timer)
          done(found.payload as T)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          fail(new Error(`no ${event} event matched within ${timeoutMs} ms; serve said:\n${stderr.slice(-2000)}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    close: () => ws.close(),
  }
}

/** Pids of processes whose command line names this job's folder (its trainer). */
function trainerPids(jobId: string): number[] {
  const marker = join(dataDir, 'jobs', jobId)
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) pids.push(Number(name))
    } catch {
      // The process ended while we looked.
    }
  }
  return pids
}

/** Step numbers of every step event in the job's events.jsonl, in file order. */
function stepsInEvents(jobId: string): number[] {
  const text = readFileSync(join(dataDir, 'jobs', jobId, 'events.jsonl'), 'utf8')
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { type: string; step?: number })
    .filter((event) => event.type === 'step')
    .map((event) => event.step as number)
}

/** Waits for a step metric numbered `step` or later (the self-test logs every step). */
const stepsSeen = (serve: Serve, jobId: string, step: number): Promise<unknown> =>
  serve.waitFor<{ jobId: string; points: MetricPoint[] }>(
    'job.metrics',
    (payload) => payload.jobId === jobId && payload.points.some((point) => point.step >= step),
  )

describe('recovery', () => {
  let jobId = ''

  it('survives a SIGKILL of serve: paused with every step, then resumes to completed', async () => {
    const first = await startServe()
    const job = await first.request<Job>('jobs.create', { model: { selftest: true }, training: { epochs: 6 } })
    jobId = job.id
    await stepsSeen(first, jobId, 3)
    first.child.kill('SIGKILL')
    await first.exited

    const second = await startServe()
    // The trainer the dead host left behind paused itself and exited; none runs unsupervised.
    expect(trainerPids(jobId)).toEqual([])
    const recovered = await second.request<Job>('jobs.get', { jobId })
    expect(recovered.status).toBe('paused')
    const metrics = await second.request<MetricPoint[]>('jobs.metrics', { jobId })
    const written = stepsInEvents(jobId)
    expect(written.length).toBeGreaterThanOrEqual(3)
    expect(metrics.map((point) => point.step)).toEqual(written)
    expect(recovered.step).toBe(written.at(-1))

    await second.request<Job>('jobs.resume', { jobId })
    const done = await second.waitFor<Job>('job.updated', (payload) => payload.id === jobId && ['completed', 'failed'].includes(payload.status))
    expect(done.error).toBeNull()
    expect(done.status).toBe('completed')
    expect(done.adapterPath).not.toBeNull()
    expect(existsSync(done.adapterPath as string)).toBe(true)
    const final = await second.request<MetricPoint[]>('jobs.metrics', { jobId })
    expect(final.at(-1)?.step).toBe(done.totalSteps)
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  }, 170_000)

  it('pauses a running job with a checkpoint on SIGTERM and exits 0', async () => {
    const serve = await startServe()
    const job = await serve.request<Job>('jobs.create', { model: { selftest: true }, training: { epochs: 6 } })
    await stepsSeen(serve, job.id, 2)
    serve.child.kill('SIGTERM')
    const paused = await serve.waitFor<Job>('job.updated', (payload) => payload.id === job.id && payload.status === 'paused', 60_000)
    expect(paused.step).toBeGreaterThanOrEqual(2)
    expect(await serve.exited).toBe(0)
    expect(trainerPids(job.id)).toEqual([])

    const again = await startServe()
    expect((await again.request<Job>('jobs.get', { jobId: job.id })).status).toBe('paused')
    const checkpoints = await again.request<Checkpoint[]>('jobs.checkpoints', { jobId: job.id })
    expect(checkpoints.some((checkpoint) => checkpoint.kind === 'pause' && checkpoint.step === paused.step)).toBe(true)
    again.child.kill('SIGTERM')
    expect(await again.exited).toBe(0)
  }, 120_000)
})
