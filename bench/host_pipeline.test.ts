/**
 * bench/host_pipeline at smoke sizes (npm test) or full sizes (BENCH=full).
 * Asserts that nothing was lost on the way (every step event reached the client and the chart, and
 * the terminal text the client received is, byte for byte, what the flood printed) and that every
 * part measured something; the rates are printed for docs/benchmarks.md, not asserted.
 */
import { describe, expect, it } from 'vitest'
import { fullSizes, runHostPipeline, smokeSizes } from './host_pipeline'

describe('host pipeline benchmark', () => {
  it(`measures events, terminal and latency against the floors (${process.env.BENCH === 'full' ? 'full' : 'smoke'} sizes)`, async () => {
    const result = await runHostPipeline(process.env.BENCH === 'full' ? fullSizes : smokeSizes)
    for (const rate of [
      result.eventsPerSecond,
      result.storageFloorEventsPerSecond,
      result.terminalMegabytesPerSecond,
      result.ptyFloorMegabytesPerSecond,
    ]) {
      expect(rate).toBeGreaterThan(0)
    }
    expect(result.events.arrived).toBe(result.events.written)
    expect(result.terminal.received).toEqual(result.terminal.printed)
    for (const latency of result.latency) {
      expect(latency.samples).toBeGreaterThan(0)
      expect([latency.samples, latency.atClient]).toEqual([latency.written, latency.written])
    }
  })
})
