/**
 * The Read as… editor's words: a kept reading described beside its dataset (header row included),
 * the columns the trainer names by position for a CSV whose first row is data, and the reading
 * built from the editor's choices (a half-filled mapping refused in the user's words).
 */
import { describe, expect, it } from 'vitest'
import { describeReading, namedByPosition, readingOf } from '../../renderer/src/logic/datasetReading'

describe('the Read as… editor', () => {
  it('describes a kept reading with its mapping and header row', () => {
    const reading = { format: 'feedback', columns: { prompt: 'column_1', label: 'column_3' }, textSplit: 'auto', csvHeader: 'no' } as const
    expect(describeReading(reading)).toBe('read as feedback; prompt from column_1, label from column_3; the first row is data')
    expect(describeReading({ ...reading, format: 'auto', columns: {}, csvHeader: 'auto' })).toBe('format detected')
  })

  it('knows the names the trainer gives a header-less CSV', () => {
    expect(namedByPosition(['column_1', 'column_2'])).toBe(true)
    expect(namedByPosition(['column_2', 'column_1'])).toBe(false)
    expect(namedByPosition(['question', 'column_2'])).toBe(false)
    expect(namedByPosition([])).toBe(false)
  })

  it('builds the reading, or says what the mapping lacks', () => {
    expect(readingOf('alpaca', [{ field: 'instruction', column: 'column_1' }], 'auto', 'no').reading).toEqual({
      format: 'alpaca',
      columns: { instruction: 'column_1' },
      textSplit: 'auto',
      csvHeader: 'no',
    })
    expect(readingOf('alpaca', [{ field: 'instruction', column: '' }], 'auto').error).toMatch(/instruction/)
  })
})
