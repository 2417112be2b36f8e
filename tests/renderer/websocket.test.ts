/**
 * The browser's WebSocket client against a real `ws` server speaking the
 * wire messages of electron/shared/api.ts: replies matched by id, AppError
 * rejections, events, and reconnecting after the server goes away.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import type { AddressInfo } from 'node:net'
import type { WireFromHost, WireRequest } from '@shared/api'
import type { Job } from '@shared/jobs'
import {
  createWebSocketClient,
  socketUrlFor,
  takeToken,
  tokenStorageKey,
  type ConnectionState,
  type SocketLike,
  type TokenPlace,
  type WebSocketClient,
} from '../../renderer/src/api/websocket'

const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A tiny host: answers jobs.list with a job named after the request id, and jobs.get with not_found. */
async function startServer(port = 0): Promise<{ server: WebSocketServer; port: number; received: WireRequest[]; offered: string[] }> {
  // Picks "tunedeck" as serve does; a browser fails a handshake whose answer picks none of those offered.
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port,
    handleProtocols: (protocols) => (protocols.has('tunedeck') ? 'tunedeck' : false),
  })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const received: WireRequest[] = []
  const offered: string[] = []
  server.on('connection', (socket, request) => {
    offered.push(String(request.headers['sec-websocket-protocol']))
    socket.on('message', (raw) => {
      const request = JSON.parse(String(raw)) as WireRequest
      received.push(request)
      const reply: WireFromHost =
        request.route === 'jobs.get'
          ? {
              kind: 'response',
              id: request.id,
              ok: false,
              error: { code: 'not_found', message: 'No job abc.', data: { fields: { jobId: 'unknown' } } },
            }
          : { kind: 'response', id: request.id, ok: true, output: [{ name: `reply to ${request.id}` }] }
      // Answer slow requests last, to show replies are matched by id and not by order.
      setTimeout(() => socket.send(JSON.stringify(reply)), request.id === 1 ? 50 : 0)
    })
  })
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate()
        server.close(() => resolve())
      }),
  )
  return { server, port: (server.address() as AddressInfo).port, received, offered }
}

function connect(port: number): WebSocketClient {
  const client = createWebSocketClient({
    url: `ws://127.0.0.1:${port}/ws`,
    token: 'secret-token',
    createSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
    minDelay: 20,
    maxDelay: 100,
  })
  cleanups.push(() => client.close())
  return client
}

function waitFor(client: WebSocketClient, predicate: (state: ConnectionState) => boolean): Promise<ConnectionState> {
  return new Promise((resolve) => {
    if (predicate(client.state)) return resolve(client.state)
    const stop = client.onConnection((state) => {
      if (predicate(state)) {
        stop()
        resolve(state)
      }
    })
  })
}

describe('WebSocket client', () => {
  it('builds the socket address from the page address, without the token', () => {
    expect(socketUrlFor({ protocol: 'http:', host: '127.0.0.1:5173' })).toBe('ws://127.0.0.1:5173/ws')
    expect(socketUrlFor({ protocol: 'https:', host: 'box:443' })).toBe('wss://box:443/ws')
  })

  it('takes the token from the fragment, clears the address bar, and finds it again after a reload', () => {
    const stored = new Map<string, string>()
    const addresses: string[] = []
    const place = (hash: string): TokenPlace => ({
      location: { hash, pathname: '/', search: '' },
      history: { replaceState: (_data, _unused, url) => void addresses.push(url) },
      sessionStorage: { getItem: (key) => stored.get(key) ?? null, setItem: (key, value) => void stored.set(key, value) },
    })
    expect(takeToken(place('#token=abc_DEF-123'))).toBe('abc_DEF-123')
    expect(addresses).toEqual(['/'])
    expect(stored.get(tokenStorageKey)).toBe('abc_DEF-123')
    // A reload: the address has no token any more, the tab's storage does.
    expect(takeToken(place(''))).toBe('abc_DEF-123')
    expect(takeToken(place('#/jobs/x'))).toBe('abc_DEF-123')
    expect(addresses).toEqual(['/'])
  })

  it('offers the token as a subprotocol on every connect, never in the address', async () => {
    const { port, offered } = await startServer()
    const client = connect(port)
    await client.request('jobs.list', {})
    expect(offered.map((header) => header.split(',').map((value) => value.trim()))).toEqual([['tunedeck', 'tunedeck.token.secret-token']])
  })

  it('queues requests made while connecting and matches each reply to its request', async () => {
    const { port, received } = await startServer()
    const client = connect(port)
    expect(client.state.status).toBe('connecting')
    const [first, second] = await Promise.all([client.request('jobs.list', {}), client.request('jobs.list', {})])
    expect((first as unknown as Job[])[0]?.name).toBe('reply to 1')
    expect((second as unknown as Job[])[0]?.name).toBe('reply to 2')
    expect(received.map((request) => [request.kind, request.route, request.id])).toEqual([
      ['request', 'jobs.list', 1],
      ['request', 'jobs.list', 2],
    ])
  })

  it('rejects with the AppError the host sent, field errors included', async () => {
    const { port } = await startServer()
    const client = connect(port)
    await expect(client.request('jobs.get', { jobId: 'abc' })).rejects.toEqual({
      code: 'not_found',
      message: 'No job abc.',
      data: { fields: { jobId: 'unknown' } },
    })
  })

  it('delivers events to their listeners until they unsubscribe, and ignores junk', async () => {
    const { server, port } = await startServer()
    const client = connect(port)
    const seen: string[] = []
    const stop = client.on('job.terminal', (payload) => seen.push(payload.data))
    await waitFor(client, (state) => state.status === 'open')
    const broadcast = (data: string): void => {
      for (const socket of server.clients) {
        socket.send('not json')
        socket.send(JSON.stringify({ kind: 'event', event: 'job.terminal', payload: { jobId: 'j', data } }))
        socket.send(JSON.stringify({ kind: 'event', event: 'gpu.sample', payload: {} }))
      }
    }
    broadcast('hello\n')
    await expect.poll(() => seen).toEqual(['hello\n'])
    stop()
    broadcast('after\n')
    // A request round trip after the event proves the event was processed (one socket, in order).
    await client.request('jobs.list', {})
    expect(seen).toEqual(['hello\n'])
  })

  it('reconnects after the host restarts, says so, and sends what was asked meanwhile', async () => {
    const first = await startServer()
    const client = connect(first.port)
    const states: ConnectionState[] = []
    client.onConnection((state) => states.push(state))
    await client.request('jobs.list', {})

    // The host goes away; a request made while it is down waits for the next connection.
    await new Promise<void>((resolve) => {
      for (const socket of first.server.clients) socket.terminate()
      first.server.close(() => resolve())
    })
    await waitFor(client, (state) => state.status === 'closed')
    const askedWhileDown = client.request('jobs.list', {})

    const second = await startServer(first.port)
    const reopened = await waitFor(client, (state) => state.status === 'open')
    expect(reopened.reconnected).toBe(true)
    await expect(askedWhileDown).resolves.toBeDefined()
    expect(second.received).toHaveLength(1)
    expect(states.some((state) => state.status === 'closed')).toBe(true)
  })

  it('fails pending requests when closed for good', async () => {
    const client = createWebSocketClient({
      url: 'ws://127.0.0.1:9/ws',
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      minDelay: 1000,
    })
    const pending = client.request('jobs.list', {})
    client.close()
    await expect(pending).rejects.toMatchObject({ code: 'internal' })
    await expect(client.request('jobs.list', {})).rejects.toMatchObject({ code: 'internal' })
  })
})
