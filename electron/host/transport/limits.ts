/**
 * Fair limits for serve's WebSocket requests, so that one client flooding
 * requests or opening many sockets slows only itself: each connection runs
 * a few requests at once and queues the rest (up to a bound, then answers
 * "busy"), and expensive routes (a dataset preview starts a Python process)
 * also share a few slots across all connections, handed out in turn, one
 * connection after another.
 */

/** The numbers serve uses; tests pass smaller ones. */
export interface RequestLimits {
  /** Requests one connection runs at once; later ones wait in its queue. */
  perConnection: number
  /** Requests one connection may have waiting; more are refused as busy. */
  queuedPerConnection: number
  /** Expensive requests running at once, over all connections. */
  expensiveTotal: number
  /** Expensive requests one connection runs at once. */
  expensivePerConnection: number
  /** Open WebSockets at once; more are refused with 503. */
  connections: number
}

export const defaultLimits: RequestLimits = {
  perConnection: 8,
  queuedPerConnection: 256,
  expensiveTotal: 2,
  expensivePerConnection: 1,
  connections: 32,
}

/** Routes that start a process or read a whole file. */
const expensiveRoutes: ReadonlySet<string> = new Set(['datasets.preview', 'jobs.create', 'jobs.report', 'python.setup', 'system.info'])

/**
 * True when a request takes one of the shared expensive slots. A preview given a requestId may
 * read a big file for minutes: it would hold its connection's slot (and so that window's Start)
 * all that time, so it is capped by the host's DatasetPreviews instead.
 */
export function isExpensive(route: string, input: unknown): boolean {
  if (route === 'datasets.preview' && typeof (input as { requestId?: unknown } | null)?.requestId === 'string') return false
  return expensiveRoutes.has(route)
}

type Task = () => Promise<void>

interface Owner {
  running: number
  queue: Task[]
}

/**
 * Runs tasks with at most `total` at once and at most `perOwner` per owner,
 * starting the next waiting task of each owner in turn.
 */
export class FairSlots {
  private running = 0
  private readonly owners = new Map<object, Owner>()
  // Owners with waiting tasks, in the order they get their next turn.
  private turn: object[] = []

  constructor(
    private readonly total: number,
    private readonly perOwner: number,
  ) {}

  /** Waiting plus running tasks of `owner`. */
  load(owner: object): number {
    const state = this.owners.get(owner)
    return state ? state.running + state.queue.length : 0
  }

  /** Runs `task` when a slot is free for `owner`; resolves or rejects as the task does. */
  run<T>(owner: object, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let state = this.owners.get(owner)
      if (!state) this.owners.set(owner, (state = { running: 0, queue: [] }))
      state.queue.push(() => task().then(resolve, reject))
      if (!this.turn.includes(owner)) this.turn.push(owner)
      this.pump()
    })
  }

  /** Drops the waiting tasks of an owner that went away (a closed socket). */
  forget(owner: object): void {
    const state = this.owners.get(owner)
    if (!state) return
    state.queue.length = 0
    this.turn = this.turn.filter((other) => other !== owner)
    if (state.running === 0) this.owners.delete(owner)
  }

  private pump(): void {
    let skipped = 0
    while (this.running < this.total && this.turn.length > 0 && skipped < this.turn.length) {
      const owner = this.turn.shift() as object
      const state = this.owners.get(owner) as Owner
      if (state.running >= this.perOwner) {
        this.turn.push(owner)
        skipped += 1
        continue
      }
      skipped = 0
      const task = state.queue.shift() as Task
      if (state.queue.length > 0) this.turn.push(owner)
      state.running += 1
      this.running += 1
      void task().finally(() => {
        state.running -= 1
        this.running -= 1
        if (state.running === 0 && state.queue.length === 0) this.owners.delete(owner)
        this.pump()
      })
    }
  }
}
