/**
 * Where the host's time per step event goes before SQLite, against the storage floor:
 * N step lines as the trainer writes them, read back by the tailer (readEvents: the file read,
 * JSON.parse, the step fast path, zod for the rest) and, for comparison, JSON.parse alone,
 * JSON.parse with the fast path, and JSON.parse with zod's parse of every line (the path before
 * the fast path). The floor is
 * bench/host_pipeline's: the same rows inserted into SQLite by a bare better-sqlite3 loop.
 *
 * Run: BENCH=full npx vitest run --config bench/vitest.config.ts bench/event_parse.test.ts
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { trainerEventSchema } from '../electron/shared/protocol'
import { fastStepEvent } from '../electron/host/trainer/stepEvent'
import { readEvents } from '../electron/host/trainer/tailer'
import { storageFloor } from './host_pipeline'

/** Microseconds per event of each part, and the floor's. */
export interface ParseResult {
  events: number
  jsonParse: number
  jsonAndZod: number
  jsonAndFastPath: number
  tailerRead: number
  storageFloor: number
}

function stepLine(step: number, total: number): string {
  return JSON.stringify({
    v: 1,
    seq: step + 3,
    time: 1767225600 + step / 100,
    type: 'step',
    step,
    totalSteps: total,
    loss: 2 / step,
    lr: 1e-4,
    gradNorm: 0.5,
    tokens: 512,
    epoch: step / total,
    tokensPerSecond: 1000 + step,
    mfu: null,
  })
}

function microsecondsPerEvent(count: number, work: () => void): number {
  const started = performance.now()
  work()
  return ((performance.now() - started) * 1000) / count
}

/** Measures each part over `count` step lines (the best of `rounds`, to leave out a neighbour's burst). */
export function runEventParse(count: number, rounds = 5): ParseResult {
  const lines = Array.from({ length: count }, (_, index) => stepLine(index + 1, count))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunedeck-parse-'))
  const file = path.join(dir, 'events.jsonl')
  fs.writeFileSync(file, lines.join('\n') + '\n')
  const parts: Record<'jsonParse' | 'jsonAndZod' | 'jsonAndFastPath' | 'tailerRead', () => void> = {
    jsonParse: () => lines.forEach((line) => JSON.parse(line)),
    jsonAndZod: () => lines.forEach((line) => trainerEventSchema.parse(JSON.parse(line))),
    jsonAndFastPath: () => lines.forEach((line) => fastStepEvent(JSON.parse(line)) ?? trainerEventSchema.parse(JSON.parse(line))),
    tailerRead: () => {
      const read = readEvents(file, 0, () => undefined)
      if (read.events.length !== count) throw new Error(`the tailer read ${read.events.length} of ${count} events`)
    },
  }
  try {
    // Rounds interleave the parts, so a neighbour's burst or the JIT's warm-up does not favour one.
    const best = { jsonParse: Infinity, jsonAndZod: Infinity, jsonAndFastPath: Infinity, tailerRead: Infinity }
    for (let round = 0; round < rounds; round += 1) {
      for (const [name, work] of Object.entries(parts) as [keyof typeof parts, () => void][]) {
        best[name] = Math.min(best[name], microsecondsPerEvent(count, work))
      }
    }
    return { events: count, ...best, storageFloor: 1e6 / storageFloor(count) }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
