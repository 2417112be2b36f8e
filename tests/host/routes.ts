/**
 * How host tests call routes. Every answer is parsed with the route's
 * declared output schema (electron/shared/routes.ts), so a handler that
 * returns something the renderer's types do not describe fails the test that
 * called it, whichever test that is. Used over a whole host (createHost, or
 * serve's WebSocket) and over a bare job service's handler map (the harness).
 */
import type { Handlers, WireResponse } from '@shared/api'
import { appError, isAppError, validationError, type AppError } from '@shared/errors'
import { isRouteName, routes, type RouteInput, type RouteName, type RouteOutput } from '@shared/routes'
import type { Job } from '@shared/jobs'
import type { DispatchResult } from '../../electron/host/host'

/** Anything that answers routes the way the host does. */
export interface Dispatcher {
  dispatch(route: string, input: unknown): Promise<DispatchResult>
}

/** An AppError a route answered with, thrown by request() so tests can match its code, message and data. */
export class RouteError extends Error implements AppError {
  readonly code: AppError['code']
  readonly data: unknown

  constructor(
    readonly route: string,
    error: AppError,
  ) {
    super(error.message)
    this.code = error.code
    this.data = error.data
  }
}

/** The output parsed with the route's output schema; throws naming the route and each field that does not match. */
export function parseOutput<R extends RouteName>(route: R, output: unknown): RouteOutput<R> {
  const parsed = routes[route].output.safeParse(output)
  if (parsed.success) return parsed.data as RouteOutput<R>
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(the output)'}: ${issue.message}`)
  throw new Error(`${route} answered with an output its schema refuses:\n  ${problems.join('\n  ')}\noutput: ${JSON.stringify(output)}`)
}

/** A result or response whose ok output has been checked against its route's schema. */
export function checked<T extends DispatchResult | WireResponse>(route: string, result: T): T {
  if (result.ok && isRouteName(route)) return { ...result, output: parseOutput(route, result.output) }
  return result
}

/** Dispatches like the host, and checks an ok output against the route's schema. */
export async function dispatch(host: Dispatcher, route: string, input: unknown): Promise<DispatchResult> {
  return checked(route, await host.dispatch(route, input))
}

/** Calls a route and returns its checked output; an error answer is thrown as a RouteError. */
export async function request<R extends RouteName>(host: Dispatcher, route: R, input: RouteInput<R>): Promise<RouteOutput<R>> {
  const result = await host.dispatch(route, input)
  if (!result.ok) throw new RouteError(route, result.error)
  return parseOutput(route, result.output)
}

/**
 * A dispatcher over a handler map, for tests that build a job service
 * themselves: the input is parsed with the route's schema as the host does,
 * and an AppError the handler throws comes back as the error answer. Any
 * other exception is a bug and is thrown to the test.
 */
export function handlerDispatcher(handlers: Handlers): Dispatcher {
  return {
    async dispatch(route, input) {
      if (!isRouteName(route)) return { ok: false, error: appError('invalid_input', `Unknown route "${route}"`) }
      const parsed = routes[route].input.safeParse(input ?? {})
      if (!parsed.success) return { ok: false, error: validationError(parsed.error.issues, `Invalid input for ${route}`) }
      const handler = handlers[route] as (input: unknown) => Promise<unknown>
      try {
        return { ok: true, output: await handler(parsed.data) }
      } catch (error) {
        if (isAppError(error)) return { ok: false, error: appError(error.code, error.message, error.data) }
        throw error
      }
    },
  }
}

/** The error a route answered with; throws when it answered ok. */
export function errorOf(result: DispatchResult): AppError {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.output)}`)
  return result.error
}

/** Polls jobs.get until the job has finished (completed, failed, cancelled or interrupted), as the renderer would see it. */
export async function waitFinished(host: Dispatcher, jobId: string, timeoutMs = 120_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = await request(host, 'jobs.get', { jobId })
    if (['completed', 'failed', 'cancelled', 'interrupted'].includes(job.status)) return job
    if (Date.now() > deadline) throw new Error(`timed out waiting for job ${jobId}: it is ${job.status}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
