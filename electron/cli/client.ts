/**
 * The command line's connection to a running Tunedeck: serve.json in the data folder gives
 * the port and token, and the same WebSocket routes and events as the browser UI carry the
 * requests. The token travels as a subprotocol, as the page sends it.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import WebSocket from 'ws'
import type { WireFromHost, WireRequest } from '@shared/api'
import { serveFileName } from '@shared/dataFolder'
import type { AppError } from '@shared/errors'
import type { EventName, EventPayload } from '@shared/events'
import type { RouteInput, RouteName, RouteOutput } from '@shared/routes'

/** A failure to reach or use the app: printed in one line, exit code 1. */
export class ConnectionError extends Error {}

/** A route's error, as the host sent it. */
export class RouteError extends Error {
  constructor(readonly error: AppError) {
    super(error.message)
  }
}

/** What serve.json holds. */
interface ServeFile {
  port: number
  token: string
  /** The serve process that wrote it. */
  pid?: number
}

/** Whether a process with this id still runs (EPERM: it runs as another user). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const howToStart =
  'start one with `npm run serve` in the Tunedeck folder (or open the app), or name its data folder with --data-dir or TUNEDECK_DATA_DIR'

/** Reads <dataDir>/serve.json; a ConnectionError saying how to start Tunedeck when there is none. */
export function readServeFile(dataDir: string): ServeFile {
  const file = join(dataDir, serveFileName)
  let parsed: Partial<ServeFile>
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServeFile>
  } catch {
    throw new ConnectionError(`No Tunedeck is running with the data folder ${dataDir} (no ${serveFileName} there): ${howToStart}.`)
  }
  if (typeof parsed.port !== 'number' || typeof parsed.token !== 'string')
    throw new ConnectionError(`${file} is not what serve writes: restart Tunedeck.`)
  // A serve that crashed leaves its file behind: its process is gone.
  if (typeof parsed.pid === 'number' && !processRuns(parsed.pid)) {
    throw new ConnectionError(
      `No Tunedeck is running with the data folder ${dataDir}: ${file} is left from one that stopped (process ${parsed.pid} is gone); ${howToStart}.`,
    )
  }
  return { port: parsed.port, token: parsed.token }
}

/** One connection: typed requests and event subscriptions, as the window has them. */
export class CliClient {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (output: unknown) => void; reject: (error: Error) => void }>()
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>()
  private closeListener: (() => void) | null = null

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.receive(String(data)))
    socket.on('close', () => {
      for (const { reject } of this.pending.values()) reject(new ConnectionError('Tunedeck closed the connection.'))
      this.pending.clear()
      this.closeListener?.()
    })
    socket.on('error', () => undefined) // 'close' follows and rejects what is pending
  }

  /** Connects to the Tunedeck whose data folder is `dataDir`. */
  static async connect(dataDir: string): Promise<CliClient> {
    const { port, token } = readServeFile(dataDir)
    return await CliClient.open(`ws://127.0.0.1:${port}/ws`, token, {
      refused: `No Tunedeck answers on port ${port} (${join(dataDir, serveFileName)} is left from one that stopped): ${howToStart}.`,
      where: `port ${port}`,
      badToken: 'its token changed; restart the command, or Tunedeck',
    })
  }

  /**
   * Connects to a serve elsewhere (--url or TUNEDECK_URL): its address as serve prints it, whose
   * #token=... is used unless `token` (--token or TUNEDECK_TOKEN) is given.
   */
  static async connectUrl(address: string, token: string | undefined): Promise<CliClient> {
    let url: URL
    try {
      url = new URL(address)
    } catch {
      throw new ConnectionError(`--url ${address}: not an address; give the one serve printed, e.g. http://127.0.0.1:5780/#token=...`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ConnectionError(`--url ${address}: use an http:// or https:// address, as serve prints it.`)
    const key = token ?? new URLSearchParams(url.hash.slice(1)).get('token') ?? undefined
    if (key === undefined || key === '')
      throw new ConnectionError(
        `--url ${url.host}: no token; use the address serve printed (with #token=...), or pass --token or TUNEDECK_TOKEN.`,
      )
    const socketUrl = `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}/ws`
    return await CliClient.open(socketUrl, key, {
      refused: `No Tunedeck answers at ${url.host}: start serve there (an SSH tunnel must be open first if you use one).`,
      where: url.host,
      badToken: 'check the token serve printed there',
    })
  }

  private static async open(
    socketUrl: string,
    token: string,
    words: { refused: string; where: string; badToken: string },
  ): Promise<CliClient> {
    const socket = new WebSocket(socketUrl, ['tunedeck', `tunedeck.token.${token}`])
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          new ConnectionError(error.code === 'ECONNREFUSED' ? words.refused : `Cannot reach Tunedeck at ${words.where}: ${error.message}.`),
        )
      })
      socket.once('unexpected-response', (_request, response) => {
        reject(new ConnectionError(`Tunedeck at ${words.where} refused the connection (HTTP ${response.statusCode}): ${words.badToken}.`))
      })
    })
    return new CliClient(socket)
  }

  /** Resolves with the route's output; rejects with a RouteError carrying the host's AppError. */
  request<R extends RouteName>(route: R, input: RouteInput<R>): Promise<RouteOutput<R>> {
    const id = this.nextId++
    const message: WireRequest = { kind: 'request', id, route, input }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (output: unknown) => void, reject })
      this.socket.send(JSON.stringify(message))
    })
  }

  /** Calls back on every event of that name; returns an unsubscribe function. */
  on<E extends EventName>(event: E, callback: (payload: EventPayload<E>) => void): () => void {
    const set = this.listeners.get(event) ?? new Set()
    set.add(callback as (payload: unknown) => void)
    this.listeners.set(event, set)
    return () => set.delete(callback as (payload: unknown) => void)
  }

  /** Calls back once when Tunedeck goes away. */
  onClose(callback: () => void): void {
    this.closeListener = callback
  }

  close(): void {
    this.closeListener = null
    this.socket.close()
  }

  private receive(text: string): void {
    const message = JSON.parse(text) as WireFromHost
    if (message.kind === 'event') {
      for (const callback of this.listeners.get(message.event) ?? []) callback(message.payload)
      return
    }
    const waiting = this.pending.get(message.id)
    if (!waiting) return
    this.pending.delete(message.id)
    if (message.ok) waiting.resolve(message.output)
    else waiting.reject(new RouteError(message.error))
  }
}
