/** How the Export section words and draws an export's progress. */
import { describe, expect, it } from 'vitest'
import type { ExportProgress } from '@shared/exports'
import { exportFraction, exportPhaseText } from '../../renderer/src/logic/exports'

const at = (change: Partial<ExportProgress>): ExportProgress => ({
  jobId: 'j',
  phase: 'preparing',
  bytesDone: 0,
  bytesTotal: 0,
  message: null,
  ...change,
})

describe('export progress', () => {
  it('fills the bar with the bytes written, after a tenth for preparing and hashing', () => {
    expect(exportFraction(null)).toBe(0)
    expect(exportFraction(at({ phase: 'preparing' }))).toBeLessThan(exportFraction(at({ phase: 'hashing' })))
    expect(exportFraction(at({ phase: 'zipping', bytesDone: 50, bytesTotal: 100 }))).toBeCloseTo(0.55)
    // A zip a little larger than its files (headers) never overflows the bar.
    expect(exportFraction(at({ phase: 'zipping', bytesDone: 120, bytesTotal: 100 }))).toBe(1)
    expect(exportFraction(at({ phase: 'done', bytesDone: 100, bytesTotal: 100 }))).toBe(1)
  })

  it("names the phase, with the Python step's note while preparing", () => {
    expect(exportPhaseText(at({ message: 'writing the GGUF adapter' }))).toBe('Preparing: writing the GGUF adapter')
    expect(exportPhaseText(at({ phase: 'verifying' }))).toBe('Checking the zip against its manifest')
    expect(exportPhaseText(at({ phase: 'done', message: '/tmp/x.zip' }))).toBe('Done')
  })

  it('shows a push to the Hub by the bytes sent and the file last sent', () => {
    expect(exportFraction(at({ phase: 'uploading', bytesDone: 50, bytesTotal: 100 }))).toBeCloseTo(0.55)
    expect(exportPhaseText(at({ phase: 'uploading', message: 'sent README.md' }))).toBe('Uploading to the Hub: sent README.md')
  })
})
