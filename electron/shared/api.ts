/**
 * One client interface with two transports (Electron IPC and WebSocket), and
 * the handler map the host must fill for every route.
 */
import type { z } from 'zod'
import type { AppError } from './errors'
import type { EventName, EventPayload } from './events'
import type { RouteInput, RouteName, RouteOutput, Routes } from './routes'

/** What the renderer sees as `window.tunedeck` or the WebSocket client. */
export interface TunedeckClient {
  /** Resolves with the route's output or rejects with an AppError. */
  request<R extends RouteName>(route: R, input: RouteInput<R>): Promise<RouteOutput<R>>
  /** Calls back on every event of that name; the returned function unsubscribes. */
  on<E extends EventName>(event: E, callback: (payload: EventPayload<E>) => void): () => void
}

/** The host implements exactly one handler per route; a missing one is a compile error. */
export type Handlers = {
  [R in RouteName]: (input: ParsedInput<R>) => Promise<RouteOutput<R>>
}

/** A route's input after the host has parsed it (defaults filled in). */
export type ParsedInput<R extends RouteName> = z.output<Routes[R]['input']>

/** Messages on the wire, the same for MessagePort and WebSocket. */
export type WireRequest = { kind: 'request'; id: number; route: string; input: unknown }
export type WireResponse =
  { kind: 'response'; id: number; ok: true; output: unknown } | { kind: 'response'; id: number; ok: false; error: AppError }
export type WireEvent = { kind: 'event'; event: EventName; payload: unknown }
export type WireToHost = WireRequest
export type WireFromHost = WireResponse | WireEvent

/**
 * serve's answer to "is my token still good?" (GET, Authorization: Bearer <token>): 200 when
 * it is, 401 when serve now has another (it was started with --new-token). A tab whose
 * WebSocket keeps failing asks, to tell "serve is down" from "this address is no longer valid".
 */
export const tokenCheckPath = '/api/token'

/** Where a browser posts the zip of a cluster run's folder (bundle or job/) to import it as a job (serve's runUpload.ts). */
export const runUploadPath = '/upload/run'
