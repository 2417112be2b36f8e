/**
 * The WebSocket transport of TunedeckClient, used when the renderer runs in a
 * browser against `serve`. Requests made while (re)connecting wait in a queue;
 * a dropped connection reconnects with exponential backoff, and listeners of
 * onConnection learn about it so that stores can refetch what they missed.
 */
import { tokenCheckPath, type TunedeckClient, type WireFromHost, type WireRequest } from '@shared/api'
import { appError, type AppError } from '@shared/errors'
import type { EventName, EventPayload } from '@shared/events'
import type { RouteInput, RouteName, RouteOutput } from '@shared/routes'

/** The part of the browser WebSocket API we use; the `ws` package's client fits it too. */
export interface SocketLike {
  readonly readyState: number
  onopen: ((event: unknown) => void) | null
  onclose: ((event: unknown) => void) | null
  onerror: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  send(data: string): void
  close(): void
}

/** Opens a socket to `url` offering `protocols` (the token travels as one of them). */
export type SocketFactory = (url: string, protocols: string[]) => SocketLike

/**
 * 'open' after every successful connect; `reconnected` is true from the second one on.
 * 'refused': serve answers but no longer takes this tab's token (it was restarted with
 * --new-token); no more tries, the page must be opened at serve's new address.
 */
export type ConnectionState = { status: 'connecting' | 'open' | 'closed' | 'refused'; reconnected: boolean }

/** Whether serve still takes the token: 'unknown' while serve does not answer. */
export type TokenCheck = () => Promise<'good' | 'refused' | 'unknown'>

export interface WebSocketClientOptions {
  url: string
  /** serve's token, sent as a subprotocol of every (re)connect; never in the address. */
  token?: string
  /** Creates the socket; defaults to the global WebSocket. */
  createSocket?: SocketFactory
  /** First reconnect delay in ms; doubles up to maxDelay. */
  minDelay?: number
  maxDelay?: number
  /** Asked after a connection fails, to tell a serve that is down from one with a new token. */
  checkToken?: TokenCheck
}

/** A TunedeckClient over WebSocket, plus connection state and close(). */
export interface WebSocketClient extends TunedeckClient {
  onConnection(callback: (state: ConnectionState) => void): () => void
  readonly state: ConnectionState
  /** Closes for good: pending requests reject, no reconnect. */
  close(): void
}

const openState = 1

type Pending = { resolve: (value: unknown) => void; reject: (error: AppError) => void }

/** Where the page keeps serve's token between reloads of the same tab. */
export const tokenStorageKey = 'tunedeck.token'

/** The parts of `window` that takeToken reads and changes. */
export interface TokenPlace {
  location: { hash: string; pathname: string; search: string }
  history: { replaceState(data: unknown, unused: string, url: string): void }
  sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void }
}

/**
 * serve's token: taken from the address's fragment (#token=...), which
 * serve prints and the browser never sends anywhere, then kept in this tab's
 * sessionStorage and removed from the address bar (and so from history,
 * bookmarks and screenshots). After a reload it comes from sessionStorage.
 */
export function takeToken(place: TokenPlace): string {
  const fromAddress = new URLSearchParams(place.location.hash.replace(/^#/, '')).get('token')
  if (fromAddress) {
    place.sessionStorage.setItem(tokenStorageKey, fromAddress)
    place.history.replaceState(null, '', `${place.location.pathname}${place.location.search}`)
    return fromAddress
  }
  return place.sessionStorage.getItem(tokenStorageKey) ?? ''
}

/** The subprotocols a socket offers: serve picks "tunedeck" and reads the token from the other. */
export function socketProtocols(token: string): string[] {
  return token ? ['tunedeck', `tunedeck.token.${token}`] : ['tunedeck']
}

/** Asks serve (tokenCheckPath) whether it still takes `token`; 'unknown' when it does not answer. */
export function tokenCheckFor(origin: string, token: string, fetchText: typeof fetch = fetch): TokenCheck {
  return async () => {
    try {
      const response = await fetchText(`${origin}${tokenCheckPath}`, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' })
      return response.status === 401 ? 'refused' : response.ok ? 'good' : 'unknown'
    } catch {
      return 'unknown'
    }
  }
}

/** Builds the ws(s)://host/ws address from the page's own location. */
export function socketUrlFor(location: { protocol: string; host: string }): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/ws`
}

/** Opens the connection at once and keeps it open until close(). */
export function createWebSocketClient(options: WebSocketClientOptions): WebSocketClient {
  const createSocket: SocketFactory = options.createSocket ?? ((url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike)
  const minDelay = options.minDelay ?? 250
  const maxDelay = options.maxDelay ?? 5_000

  let socket: SocketLike | null = null
  let nextId = 1
  let delay = minDelay
  let everOpened = false
  let closedForGood = false
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let state: ConnectionState = { status: 'connecting', reconnected: false }
  const pending = new Map<number, Pending>()
  // Requests not yet sent because the socket is not open; sent in order on open.
  const outbox: WireRequest[] = []
  const eventListeners = new Map<string, Set<(payload: unknown) => void>>()
  const connectionListeners = new Set<(state: ConnectionState) => void>()

  const setState = (next: ConnectionState): void => {
    state = next
    for (const listener of connectionListeners) listener(next)
  }

  const handleMessage = (raw: unknown): void => {
    let message: WireFromHost
    try {
      message = JSON.parse(typeof raw === 'string' ? raw : String(raw)) as WireFromHost
    } catch {
      return // Not ours to interpret; the protocol says ignore what we don't understand.
    }
    if (message.kind === 'response') {
      const waiting = pending.get(message.id)
      if (!waiting) return
      pending.delete(message.id)
      if (message.ok) waiting.resolve(message.output)
      else waiting.reject(message.error)
    } else if (message.kind === 'event') {
      const listeners = eventListeners.get(message.event)
      if (listeners) for (const listener of [...listeners]) listener(message.payload)
    }
  }

  const connect = (): void => {
    retryTimer = null
    if (closedForGood) return
    setState({ status: 'connecting', reconnected: everOpened })
    const current = createSocket(options.url, socketProtocols(options.token ?? ''))
    socket = current
    current.onopen = () => {
      delay = minDelay
      const reconnected = everOpened
      everOpened = true
      for (const request of outbox.splice(0)) current.send(JSON.stringify(request))
      setState({ status: 'open', reconnected })
    }
    current.onmessage = (event) => handleMessage(event.data)
    current.onerror = () => {
      // onclose follows and does the reconnecting.
    }
    current.onclose = () => {
      if (socket !== current) return
      socket = null
      // A request in flight on a dropped socket has no reply coming: fail it
      // rather than resend it, since a resent create or pause could act twice.
      for (const [id, waiting] of pending) {
        if (!outbox.some((request) => request.id === id)) {
          pending.delete(id)
          waiting.reject(appError('internal', 'The connection to Tunedeck was lost before it answered; try again.'))
        }
      }
      if (closedForGood) return
      setState({ status: 'closed', reconnected: everOpened })
      const retry = (): void => {
        if (closedForGood || retryTimer !== null) return
        retryTimer = setTimeout(connect, delay)
        delay = Math.min(delay * 2, maxDelay)
      }
      if (!options.checkToken) return retry()
      options.checkToken().then(
        (answer) => {
          if (answer !== 'refused') return retry()
          closedForGood = true
          setState({ status: 'refused', reconnected: everOpened })
        },
        () => retry(),
      )
    }
  }

  connect()

  return {
    get state() {
      return state
    },
    request<R extends RouteName>(route: R, input: RouteInput<R>): Promise<RouteOutput<R>> {
      if (closedForGood) return Promise.reject(appError('internal', 'The Tunedeck client is closed.'))
      const id = nextId++
      const message: WireRequest = { kind: 'request', id, route, input }
      return new Promise<RouteOutput<R>>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
        if (socket && socket.readyState === openState) socket.send(JSON.stringify(message))
        else outbox.push(message)
      })
    },
    on<E extends EventName>(event: E, callback: (payload: EventPayload<E>) => void): () => void {
      let listeners = eventListeners.get(event)
      if (!listeners) eventListeners.set(event, (listeners = new Set()))
      const listener = callback as (payload: unknown) => void
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    onConnection(callback) {
      connectionListeners.add(callback)
      return () => {
        connectionListeners.delete(callback)
      }
    },
    close() {
      closedForGood = true
      if (retryTimer) clearTimeout(retryTimer)
      socket?.close()
      socket = null
      for (const waiting of pending.values()) waiting.reject(appError('internal', 'The Tunedeck client is closed.'))
      pending.clear()
      outbox.length = 0
      setState({ status: 'closed', reconnected: everOpened })
    },
  }
}
