/**
 * serve's WebSocket side: JSON WireRequests in, WireResponses out, and every
 * host event to every connected socket. The upgrade needs the token and this
 * server's own Host; a foreign Origin is taken only from another Tunedeck's page
 * (auth.otherPageOrigin), with the token. Anything else gets a 401 or 403 before
 * a socket exists.
 * A malformed frame, an oversized message or a dropped connection closes that
 * one socket and nothing else: every socket has an error handler.
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { WireEvent, WireRequest, WireResponse } from '@shared/api'
import { appError, type AppError } from '@shared/errors'
import { isRouteName, unknownRouteError } from '@shared/routes'
import type { Host } from '../host'
import { hasToken, otherPageOrigin, sameOrigin, webSocketProtocol } from './auth'
import { defaultLimits, FairSlots, isExpensive, type RequestLimits } from './limits'
import { checkRequestPaths } from './roots'

/** The path the renderer's client connects to. */
export const webSocketPath = '/ws'

/** The largest message a client may send; the largest real one (a job config) is a few KB. */
export const maxMessageBytes = 1024 * 1024

// A client that stops reading (a frozen tab) must not grow the host's memory without end.
const maxBufferedBytes = 64 * 1024 * 1024
const pingIntervalMs = 30_000

/** What the WebSocket side needs besides the host. */
export interface WebSocketOptions {
  token: string
  /** The port the server listens on, known once it is bound. */
  port: () => number
  /** Real paths of the folders requests may name; null lets every path through. */
  roots: readonly string[] | null
  limits?: Partial<RequestLimits>
  /** Listening beyond loopback: any Host header (see auth.sameOrigin). */
  anyHost?: boolean
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  )
}

/** Reads one message as a WireRequest, or explains what is wrong with it. */
function parseRequest(data: RawData): WireRequest | { id: number; problem: string } {
  let message: unknown
  try {
    message = JSON.parse(data.toString())
  } catch {
    return { id: 0, problem: 'The message is not JSON.' }
  }
  const value = (typeof message === 'object' && message !== null ? message : {}) as Partial<WireRequest>
  const id = typeof value.id === 'number' ? value.id : 0
  if (value.kind !== 'request') return { id, problem: 'The message\'s "kind" must be "request".' }
  if (typeof value.id !== 'number') return { id, problem: 'The message needs a numeric "id".' }
  if (typeof value.route !== 'string') return { id, problem: 'The message needs a "route" string.' }
  return { kind: 'request', id: value.id, route: value.route, input: value.input }
}

function send(ws: WebSocket, response: WireResponse): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(response))
}

/** A failure of the transport itself (not a route's), logged with its stack and answered as internal. */
function internalFailure(error: unknown): AppError {
  process.stderr.write(`A WebSocket request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  return appError(
    'internal',
    `Tunedeck failed on this request (${error instanceof Error ? error.message : String(error)}); the rest goes on.`,
  )
}

function failure(id: number, error: AppError): WireResponse {
  return { kind: 'response', id, ok: false, error }
}

/** Closes every socket and the WebSocket server. */
export type CloseWebSocket = () => Promise<void>

/** Adds the /ws endpoint to an HTTP server. */
export function attachWebSocket(server: Server, host: Host, options: WebSocketOptions): CloseWebSocket {
  const limits = { ...defaultLimits, ...options.limits }
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxMessageBytes,
    // The page offers "tunedeck" beside its token protocol; a browser fails a handshake whose answer picks none.
    handleProtocols: (protocols) => (protocols.has(webSocketProtocol) ? webSocketProtocol : false),
  })
  const alive = new WeakMap<WebSocket, boolean>()
  const expensive = new FairSlots(limits.expensiveTotal, limits.expensivePerConnection)
  wss.on('error', (error) => process.stderr.write(`WebSocket server error: ${error.message}\n`))

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client that resets mid-handshake must not raise an unhandled error.
    socket.on('error', () => socket.destroy())
    let url: URL
    try {
      url = new URL(request.url ?? '/', `http://127.0.0.1:${options.port()}`)
    } catch {
      return refuse(socket, 400, 'Bad Request')
    }
    if (url.pathname !== webSocketPath) return refuse(socket, 404, 'Not Found')
    // Another Tunedeck's page (a window driving this serve as its remote host) comes with its own Origin: the token below decides.
    if (!sameOrigin(request, options.port(), options.anyHost) && !otherPageOrigin(request, options.port(), options.anyHost))
      return refuse(socket, 403, 'Forbidden')
    if (!hasToken(request, url, options.token)) return refuse(socket, 401, 'Unauthorized')
    if (wss.clients.size >= limits.connections) return refuse(socket, 503, 'Too many connections')
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request))
  })

  wss.on('connection', (ws: WebSocket) => {
    const own = new FairSlots(limits.perConnection, limits.perConnection)
    alive.set(ws, true)
    // ws closes the socket with 1002/1009 on a bad or oversized frame, then emits this.
    ws.on('error', (error) => {
      process.stderr.write(`A WebSocket client was disconnected: ${error.message}\n`)
      ws.terminate()
    })
    ws.on('close', () => {
      own.forget(ws)
      expensive.forget(ws)
    })
    ws.on('pong', () => alive.set(ws, true))
    ws.on('message', (data: RawData) => {
      // Whatever goes wrong with one message is that message's answer: the connection and the host live on.
      let id = 0
      try {
        const request = parseRequest(data)
        id = request.id
        if (!('kind' in request)) return send(ws, failure(request.id, appError('invalid_input', request.problem)))
        // Before anything looks the name up in a table.
        if (!isRouteName(request.route)) return send(ws, failure(request.id, unknownRouteError(request.route)))
        if (own.load(ws) >= limits.perConnection + limits.queuedPerConnection) {
          const message = `Too many requests waiting on this connection (${limits.queuedPerConnection}): wait for answers before sending more.`
          return send(ws, failure(request.id, appError('conflict', message)))
        }
        const checked = options.roots ? checkRequestPaths(request.route, request.input, options.roots) : { input: request.input }
        if ('error' in checked) return send(ws, failure(request.id, checked.error))
        const dispatch = (): Promise<void> =>
          host.dispatch(request.route, checked.input).then((result) => {
            send(ws, result.ok ? { kind: 'response', id: request.id, ok: true, output: result.output } : failure(request.id, result.error))
          })
        own
          .run(ws, () => (isExpensive(request.route, request.input) ? expensive.run(ws, dispatch) : dispatch()))
          .catch((error: unknown) => send(ws, failure(request.id, internalFailure(error))))
      } catch (error) {
        send(ws, failure(id, internalFailure(error)))
      }
    })
  })

  const unsubscribe = host.subscribe((event, payload) => {
    const message: WireEvent = { kind: 'event', event, payload }
    const text = JSON.stringify(message)
    for (const ws of wss.clients) {
      if (ws.readyState !== WebSocket.OPEN) continue
      if (ws.bufferedAmount > maxBufferedBytes) ws.terminate()
      else ws.send(text)
    }
  })

  // Pings find sockets whose other end vanished without a close (a sleeping laptop).
  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate()
        continue
      }
      alive.set(ws, false)
      ws.ping()
    }
  }, pingIntervalMs)
  pinger.unref()

  return async () => {
    clearInterval(pinger)
    unsubscribe()
    for (const ws of wss.clients) ws.close(1001, 'Tunedeck is shutting down')
    await new Promise<void>((resolve) => wss.close(() => resolve()))
    for (const ws of wss.clients) ws.terminate()
  }
}
