/**
 * The real headless host as a child process (out/main/serve.js) with a WebSocket client on it,
 * for the tests that kill it (host-crash, recovery). Builds out/ first when it is older than the
 * sources; every response is checked against its route's schema.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { WebSocket } from 'ws'
import type { WireFromHost } from '@shared/api'
import { checked } from './routes'
import { trainerPython } from './trainerPython'

const repoDir = resolve(__dirname, '../..')
const serveScript = join(repoDir, 'out', 'main', 'serve.js')

/** A running serve child with a WebSocket client on it. */
export interface Serve {
  child: ChildProcess
  exited: Promise<number | null>
  request<T>(route: string, input: unknown): Promise<T>
  /** Resolves with the first event payload that `match` accepts (events seen earlier count). */
  waitFor<T>(event: string, match: (payload: T) => boolean, timeoutMs?: number): Promise<T>
  close(): void
}

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return latest
}

/** Builds out/ when serve.js is missing or older than the host's or the contract's sources. */
export function buildServeIfStale(): void {
  const sources = Math.max(newest(join(repoDir, 'electron', 'host')), newest(join(repoDir, 'electron', 'shared')))
  if (existsSync(serveScript) && statSync(serveScript).mtimeMs >= sources) return
  try {
    execFileSync('npx', ['electron-vite', 'build'], { cwd: repoDir, stdio: 'pipe' })
  } catch (error) {
    const output = String((error as { stderr?: Buffer }).stderr ?? '').slice(-2000)
    throw new Error(`out/ is older than the sources and npx electron-vite build failed:\n${output}`)
  }
}

/** Serve children on one data folder; killAll() in afterAll. */
export class ServeChildren {
  private readonly running = new Set<ChildProcess>()

  constructor(private readonly dataDir: string) {}

  killAll(): void {
    for (const child of this.running) child.kill('SIGKILL')
  }

  async start(): Promise<Serve> {
    const child = spawn(process.execPath, [serveScript, '--port', '0', '--data-dir', this.dataDir], {
      env: { ...process.env, TUNEDECK_PYTHON: trainerPython() },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.running.add(child)
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => (this.running.delete(child), done(code))))
    const url = await new Promise<URL>((done, fail) => {
      let stdout = ''
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
        const match = /^Tunedeck is serving at (http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)$/m.exec(stdout)
        if (match?.[1]) done(new URL(match[1]))
      })
      void exited.then((code) => fail(new Error(`serve exited with ${code}: ${stderr}`)))
    })
    const token = new URLSearchParams(url.hash.slice(1)).get('token') ?? ''
    const ws = new WebSocket(`ws://${url.host}/ws`, { headers: { origin: url.origin, authorization: `Bearer ${token}` } })
    await new Promise((done, fail) => ws.on('open', done).on('error', fail))
    const seen: Array<{ event: string; payload: unknown }> = []
    const waiters = new Set<() => void>()
    const pending = new Map<number, (message: WireFromHost) => void>()
    // A killed serve resets the socket: the tests see it through `exited`.
    ws.on('error', () => undefined)
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
      waitFor<T>(event: string, match: (payload: T) => boolean, timeoutMs = 120_000) {
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
}

/** The live processes (pids) whose command line names the job's folder: its trainer, and with
 * several ranks the launcher and every rank torchrun started. */
export function jobProcesses(dataDir: string, jobId: string): number[] {
  const marker = join(dataDir, 'jobs', jobId)
  return readdirSync('/proc').flatMap((name) => {
    if (!/^\d+$/.test(name)) return []
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      return !/\) Z /.test(stat) && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker) ? [Number(name)] : []
    } catch {
      return []
    }
  })
}

/** The job's events.jsonl, parsed. */
export function jobEvents(dataDir: string, jobId: string): Array<{ type: string; step?: number; ranks?: number }> {
  return readFileSync(join(dataDir, 'jobs', jobId, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { type: string; step?: number })
}
