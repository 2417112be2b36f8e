/**
 * bench/ui at smoke sizes (npm test) or full sizes (BENCH=full). Asserts that every part ran and
 * that the flood's terminal text reached the client whole; the numbers are printed for docs/benchmarks.md.
 */
import { describe, expect, it } from 'vitest'
import { fullUiSizes, runUi, smokeUiSizes } from './ui'

describe('job page benchmark', () => {
  it(`measures first draw, frame times and a flood in Chromium (${process.env.BENCH === 'full' ? 'full' : 'smoke'} sizes)`, async () => {
    const result = await runUi(process.env.BENCH === 'full' ? fullUiSizes : smokeUiSizes)
    expect(result.firstDrawMs).toBeGreaterThan(0)
    expect(result.frameP95).toBeGreaterThan(0)
    expect(result.floodPageHeapMb).toBeGreaterThan(0)
    expect(result.floodTerminal.received).toEqual(result.floodTerminal.printed)
  })
})
