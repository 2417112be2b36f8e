/**
 * A real serve in this process (createHost + startServer, as out/main/serve.js assembles them)
 * and raw WebSocket clients on it, for the tests that send hostile messages: the fuzzer, the
 * prototype-name routes, the FIFO, the load test. A client sends any text and waits for the
 * response with that id; `serving()` proves the host still answers afterwards.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { WebSocket } from 'ws'
import type { WireFromHost, WireResponse } from '@shared/api'
import { createHost, type Host, type HostOptions } from '../../electron/host/host'
import type { RequestLimits } from '../../electron/host/transport/limits'
import { startServer, type RunningServer } from '../../electron/host/transport/server'

const repoDir = resolve(__dirname, '../..')

/** One WebSocket connection speaking the wire protocol. */
export interface WireClient {
  /** Sends `text` as it is (it need not be JSON) and waits for the response with `id`. */
  sendRaw(id: number, text: string): Promise<WireResponse>
  /** A well-formed request with a fresh id. */
  request(route: string, input: unknown): Promise<WireResponse>
  /** Every event received so far, in order. */
  readonly events: Array<{ event: string; payload: unknown }>
  close(): Promise<void>
}

/** A running in-process serve. */
export interface WireServe {
  host: Host
  server: RunningServer
  dataDir: string
  connect(): Promise<WireClient>
  /** True when a fresh connection gets jobs.list and the page's index.html answered. */
  serving(): Promise<boolean>
  stop(): Promise<void>
}

/** What a test may change about the serve it starts. */
export interface WireServeOptions {
  workDir: string
  /** Folders requests may name; the data folder is always one. */
  roots?: string[]
  limits?: Partial<RequestLimits>
  host?: Partial<HostOptions>
}

/** Starts createHost and startServer on `<workDir>/data`, with a one-page renderer. */
export async function startWireServe(options: WireServeOptions): Promise<WireServe> {
  const dataDir = join(options.workDir, 'data')
  const rendererDir = join(options.workDir, 'renderer')
  mkdirSync(rendererDir, { recursive: true })
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Tunedeck test page</title>\n')
  const host = createHost({
    dataDir,
    resourcesDir: join(repoDir, 'resources'),
    pythonRuntimeDir: join(repoDir, 'python-runtime'),
    appVersion: '0.1.0-test',
    ...options.host,
  })
  await host.start()
  const server = await startServer(host, {
    port: 0,
    rendererDir,
    roots: [...(options.roots ?? []), dataDir],
    limits: options.limits,
  })
  const clients = new Set<WireClient>()
  const connect = async (): Promise<WireClient> => {
    const client = await openClient(server)
    clients.add(client)
    return client
  }
  return {
    host,
    server,
    dataDir,
    connect,
    async serving() {
      const client = await connect()
      try {
        const listed = await client.request('jobs.list', {})
        const page = await fetch(`http://127.0.0.1:${server.port}/index.html`)
        return listed.ok && page.status === 200 && (await page.text()).includes('Tunedeck test page')
      } finally {
        await client.close()
        clients.delete(client)
      }
    },
    async stop() {
      for (const client of clients) await client.close()
      await server.close()
      await host.shutdown()
    },
  }
}

async function openClient(server: RunningServer): Promise<WireClient> {
  const origin = `http://127.0.0.1:${server.port}`
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, {
    headers: { origin, authorization: `Bearer ${server.token}` },
    maxPayload: 256 * 1024 * 1024,
  })
  await new Promise((done, fail) => ws.once('open', done).once('error', fail))
  const pending = new Map<number, (response: WireResponse) => void>()
  const events: Array<{ event: string; payload: unknown }> = []
  let closed: Error | null = null
  const failAll = (error: Error): void => {
    closed = error
    for (const [id, done] of pending)
      done({ kind: 'response', id, ok: false, error: { code: 'internal', message: `connection lost: ${error.message}` } })
    pending.clear()
  }
  ws.on('error', (error) => failAll(error))
  ws.on('close', (code) => failAll(new Error(`closed with ${code}`)))
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as WireFromHost
    if (message.kind === 'event') events.push({ event: message.event, payload: message.payload })
    else pending.get(message.id)?.(message)
  })
  let nextId = 1_000_000
  const sendRaw = (id: number, text: string): Promise<WireResponse> =>
    new Promise((done) => {
      if (closed)
        return done({ kind: 'response', id, ok: false, error: { code: 'internal', message: `connection lost: ${closed.message}` } })
      pending.set(id, (response) => {
        pending.delete(id)
        done(response)
      })
      ws.send(text)
    })
  return {
    sendRaw,
    events,
    request: (route, input) => {
      const id = nextId++
      return sendRaw(id, JSON.stringify({ kind: 'request', id, route, input }))
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return
      await new Promise<void>((done) => {
        ws.once('close', () => done())
        ws.close()
      })
    },
  }
}

/** Puts an environment variable a test changed back as it was before (absent stays absent). */
export function restoreVariable(name: string, saved: string | undefined): void {
  if (saved === undefined) delete process.env[name]
  else process.env[name] = saved
}
