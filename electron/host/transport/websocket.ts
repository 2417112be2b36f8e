/**
 * serve's WebSocket side: JSON WireRequests in, WireResponses out, and every
 * host event to every connected socket. The upgrade needs the token and this
 * server's own Origin; anything else gets a 401 or 403 before a socket exists.
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { WireEvent, WireRequest, WireResponse } from '../../shared/api'
import { appError } from '../../shared/errors'
import type { Host } from '../host'
import { sameOrigin, tokenSource } from './auth'

/** The path the renderer's client connects to. */
export const webSocketPath = '/ws'

// A client that stops reading (a frozen tab) must not grow the host's memory without end.
const maxBufferedBytes = 64 * 1024 * 1024
const pingIntervalMs = 30_000

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`)
}

/** Reads one message as a WireRequest, or explains what is wrong with it. */
function parseRequest(data: RawData): WireRequest | { id: number; problem: string } {
  let message: unknown
  try {
    message = JSON.parse(data.toString())
  } catch {
    return { id: 0, problem: 'The message is not JSON.' }
  }
  const value = (message ?? {}) as Partial<WireRequest>
  const id = typeof value.id === 'number' ? value.id : 0
  if (value.kind !== 'request') return { id, problem: 'The message\'s "kind" must be "request".' }
  if (typeof value.id !== 'number') return { id, problem: 'The message needs a numeric "id".' }
  if (typeof value.route !== 'string') return { id, problem: 'The message needs a "route" string.' }
  return { kind: 'request', id: value.id, route: value.route, input: value.input }
}

/** Closes every socket and the WebSocket server. */
export type CloseWebSocket = () => Promise<void>

/** Adds the /ws endpoint to an HTTP server; `port` is the one it listens on. */
export function attachWebSocket(server: Server, host: Host, token: string, port: () => number): CloseWebSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 })
  const alive = new WeakMap<WebSocket, boolean>()

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', `http://127.0.0.1:${port()}`)
    if (url.pathname !== webSocketPath) return refuse(socket, 404, 'Not Found')
    if (!tokenSource(request, url, port(), token)) return refuse(socket, 401, 'Unauthorized')
    if (!sameOrigin(request, port())) return refuse(socket, 403, 'Forbidden')
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request))
  })

  wss.on('connection', (ws: WebSocket) => {
    alive.set(ws, true)
    ws.on('pong', () => alive.set(ws, true))
    ws.on('message', (data: RawData) => {
      const request = parseRequest(data)
      if (!('kind' in request)) {
        const response: WireResponse = { kind: 'response', id: request.id, ok: false, error: appError('invalid_input', request.problem) }
        return ws.send(JSON.stringify(response))
      }
      void host.dispatch(request.route, request.input).then((result) => {
        if (ws.readyState !== WebSocket.OPEN) return
        const response: WireResponse = result.ok
          ? { kind: 'response', id: request.id, ok: true, output: result.output }
          : { kind: 'response', id: request.id, ok: false, error: result.error }
        ws.send(JSON.stringify(response))
      })
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
