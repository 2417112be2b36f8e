/**
 * bench/app_overhead at quick size (npm test: the self-test job, one a/b pair) or full size
 * (BENCH=full: about two minutes a run). Asserts that every run completed and that the trainer's
 * main thread was read in each; the ratios are printed for docs/benchmarks.md, not asserted.
 */
import { describe, expect, it } from 'vitest'
import { fullSizes, quickSizes, runAppOverhead } from './app_overhead'

const full = process.env.BENCH === 'full'

describe('app overhead benchmark', () => {
  it(`runs the same job by the trainer alone and through serve with its page open (${full ? 'full' : 'quick'} size)`, async () => {
    const result = await runAppOverhead(full ? fullSizes : quickSizes)
    expect(result.runs.map((run) => run.exit)).toEqual(result.runs.map(() => 'completed'))
    expect(result.runs.map((run) => run.how).sort()).toEqual(
      Array.from({ length: result.runs.length }, (_, index) => (index < result.runs.length / 2 ? 'app' : 'cli')),
    )
    for (const run of result.runs) {
      expect(run.wallSeconds).toBeGreaterThan(0)
      expect(run.schedule.samples).toBeGreaterThan(1)
      expect(run.schedule.runSeconds).toBeGreaterThan(0)
    }
    expect(result.wallRatio).toBeGreaterThan(0)
  })
})
