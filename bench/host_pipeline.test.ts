/**
 * bench/host_pipeline at smoke sizes (npm test) or full sizes (BENCH=full).
 * Asserts only that every part ran and measured something; the numbers are
 * printed for docs/benchmarks.md.
 */
import { describe, expect, it } from 'vitest'
import { fullSizes, runHostPipeline, smokeSizes } from './host_pipeline'

describe('host pipeline benchmark', () => {
  it(`measures events, terminal and latency against the floors (${process.env.BENCH === 'full' ? 'full' : 'smoke'} sizes)`, async () => {
    const result = await runHostPipeline(process.env.BENCH === 'full' ? fullSizes : smokeSizes)
    for (const rate of [result.eventsPerSecond, result.storageFloorEventsPerSecond, result.terminalMegabytesPerSecond, result.ptyFloorMegabytesPerSecond]) {
      expect(rate).toBeGreaterThan(0)
    }
    expect(result.latency.map((latency) => latency.samples > 0)).toEqual([true, true])
  })
})
