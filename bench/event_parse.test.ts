/**
 * bench/event_parse at smoke size (npm test) or full size (BENCH=full): microseconds per step
 * event of JSON.parse, of JSON.parse + zod, of the tailer's read (with the step fast path), and
 * of the storage floor. Asserts only that each part measured something.
 */
import { describe, expect, it } from 'vitest'
import { runEventParse } from './event_parse'

describe('event parse benchmark', () => {
  it(`measures the tailer's parse per event against the storage floor (${process.env.BENCH === 'full' ? 'full' : 'smoke'} size)`, () => {
    const result = runEventParse(process.env.BENCH === 'full' ? 200_000 : 5_000)
    console.log(
      `${result.events} step events, microseconds each: JSON.parse ${result.jsonParse.toFixed(2)}, JSON.parse + zod ${result.jsonAndZod.toFixed(2)}, JSON.parse + fast path ${result.jsonAndFastPath.toFixed(2)}, ` +
        `tailer read (fast path) ${result.tailerRead.toFixed(2)}, storage floor ${result.storageFloor.toFixed(2)}`,
    )
    for (const value of [result.jsonParse, result.jsonAndZod, result.jsonAndFastPath, result.tailerRead, result.storageFloor])
      expect(value).toBeGreaterThan(0)
  })
})
