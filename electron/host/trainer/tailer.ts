/**
 * Follows jobs/<id>/events.jsonl by byte offset. Only whole lines are read:
 * a line the trainer is still writing stays in the file and is read next
 * time, and the offset handed out always ends at a newline, so a restarted
 * host resumes exactly where the last whole line ended.
 */
import fs from 'node:fs'
import path from 'node:path'
import { trainerEventSchema, trainerEventTypes, type TrainerEvent } from '@shared/protocol'
import { fastStepEvent } from './stepEvent'

/** What one read of the file found. */
export interface TailBatch {
  events: TrainerEvent[]
  /** Offset just past the last whole line read. */
  offset: number
  /** True when at least one whole line (valid or not) was read. */
  sawLines: boolean
}

/** A line that is not a valid event of a known type: its 1-based line number and what is wrong. */
export interface InvalidLine {
  line: number
  problem: string
}

/** How often the file is checked when fs.watch stays silent (network drives, some containers). */
export const pollIntervalMs = 500

const knownTypes = new Set<string>(trainerEventTypes)

/**
 * Reads every whole line from `offset` to the end of the file. Unknown event
 * types are skipped silently (a newer trainer may add some); invalid lines
 * are passed to `onInvalid` and skipped.
 */
export function readEvents(
  file: string,
  offset: number,
  onInvalid: (invalid: InvalidLine) => void,
  firstLine = 1,
): TailBatch & { lines: number } {
  let handle: number
  try {
    handle = fs.openSync(file, 'r')
  } catch {
    return { events: [], offset, sawLines: false, lines: 0 }
  }
  let buffer: Buffer
  try {
    const size = fs.fstatSync(handle).size
    // A file shorter than our offset was replaced: read it again from the start (seqs keep this idempotent).
    const start = size < offset ? 0 : offset
    buffer = Buffer.alloc(size - start)
    fs.readSync(handle, buffer, 0, buffer.length, start)
    offset = start
  } finally {
    fs.closeSync(handle)
  }
  const end = buffer.lastIndexOf(0x0a)
  if (end === -1) return { events: [], offset, sawLines: false, lines: 0 }
  const lines = buffer.subarray(0, end).toString('utf8').split('\n')
  const events: TrainerEvent[] = []
  lines.forEach((text, index) => {
    const line = text.trim()
    if (line === '') return
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      onInvalid({ line: firstLine + index, problem: 'not JSON' })
      return
    }
    const type = (value as { type?: unknown } | null)?.type
    if (typeof type === 'string' && !knownTypes.has(type)) return
    const step = fastStepEvent(value)
    if (step) {
      events.push(step)
      return
    }
    const parsed = trainerEventSchema.safeParse(value)
    if (parsed.success) events.push(parsed.data)
    else {
      const issue = parsed.error.issues[0]
      onInvalid({ line: firstLine + index, problem: issue ? `${issue.path.join('.') || 'event'}: ${issue.message}` : 'invalid' })
    }
  })
  return { events, offset: offset + end + 1, sawLines: true, lines: lines.length }
}

export interface EventTailerOptions {
  file: string
  /** Where to start: the offset stored after the last ingested batch (0 for a new job). */
  offset: number
  onBatch: (batch: TailBatch) => void
  onInvalid: (invalid: InvalidLine) => void
}

/** Watches one events file and hands over each batch of new whole lines. */
export class EventTailer {
  private offset: number
  private watcher: fs.FSWatcher | undefined
  private timer: NodeJS.Timeout | undefined
  private reading = false
  /** Line number of the line at `offset`, for messages about invalid lines; counted from where we started. */
  private nextLine = 1

  constructor(private readonly options: EventTailerOptions) {
    this.offset = options.offset
  }

  /** Reads what is there now, then follows the file. */
  start(): void {
    this.read()
    try {
      // Watch the folder, not the file: the file may not exist yet.
      const name = path.basename(this.options.file)
      this.watcher = fs.watch(path.dirname(this.options.file), (_kind, changed) => {
        if (changed === null || changed === name) this.read()
      })
      this.watcher.on('error', () => this.stopWatching())
    } catch {
      // Polling alone still works.
    }
    this.timer = setInterval(() => this.read(), pollIntervalMs)
  }

  /** Reads every whole line appended since the last read. Safe to call at any time. */
  read(): void {
    if (this.reading) return
    this.reading = true
    try {
      const batch = readEvents(this.options.file, this.offset, this.options.onInvalid, this.nextLine)
      if (batch.offset < this.offset) this.nextLine = 1
      this.nextLine += batch.lines
      this.offset = batch.offset
      if (batch.sawLines) this.options.onBatch(batch)
    } finally {
      this.reading = false
    }
  }

  /** Reads the rest of the file and stops following it. */
  stop(): void {
    this.read()
    this.stopWithoutReading()
  }

  /** Stops following the file at once. */
  stopWithoutReading(): void {
    this.stopWatching()
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  private stopWatching(): void {
    this.watcher?.close()
    this.watcher = undefined
  }
}
