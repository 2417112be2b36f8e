/** How the dataset preview shows the trainer's normalised records and bad rows. */
import { describe, expect, it } from 'vitest'
import {
  badRowsHeadline,
  describeCounts,
  describeRowError,
  plural,
  shorten,
  summariseRecord,
  toolsLostWarning,
} from '../../renderer/src/logic/datasetPreview'

describe('summariseRecord', () => {
  it('shows a conversation as one "role: text" line per message', () => {
    const record = {
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'Hello!\n  I am   Tunedeck.' },
      ],
    }
    expect(summariseRecord(record)).toEqual([
      { label: 'user', text: 'hi' },
      { label: 'assistant', text: 'Hello! I am Tunedeck.' },
    ])
  })

  it('shows a plain-text row as its text', () => {
    expect(summariseRecord({ text: 'Once upon a time' })).toEqual([{ label: 'text', text: 'Once upon a time' }])
  })

  it('shows a preference pair as prompt, chosen and rejected, a prompt of messages included', () => {
    const record = {
      prompt: [{ role: 'user', content: 'Name a colour' }],
      chosen: 'Blue',
      rejected: [{ role: 'assistant', content: 'No.' }],
    }
    expect(summariseRecord(record)).toEqual([
      { label: 'prompt', text: 'user: Name a colour' },
      { label: 'chosen', text: 'Blue' },
      { label: 'rejected', text: 'assistant: No.' },
    ])
  })

  it('shows an unknown shape field by field rather than hiding it', () => {
    expect(summariseRecord({ question: 'Why?', score: 3 })).toEqual([
      { label: 'question', text: 'Why?' },
      { label: 'score', text: '3' },
    ])
  })

  it('cuts long text with an ellipsis', () => {
    const long = 'word '.repeat(100)
    const [line] = summariseRecord({ text: long })
    expect(line!.text.length).toBe(160)
    expect(line!.text.endsWith('…')).toBe(true)
    expect(shorten('short')).toBe('short')
  })
})

describe('describeRowError', () => {
  it('names the line or row and the field', () => {
    expect(describeRowError({ row: 3, unit: 'line', field: 'output', message: 'missing' })).toBe('line 3, output')
    expect(describeRowError({ row: 12, unit: null, field: null, message: 'not an object' })).toBe('row 12')
    expect(describeRowError({ row: null, unit: null, field: null, message: 'empty file' })).toBe('file')
  })

  it('counts rows, usable and skipped, or bad when bad rows fail the job', () => {
    expect(describeCounts({ rows: 91, usable: 90, skipped: 1, badRows: 'skip' })).toBe('91 rows · 90 usable · 1 skipped')
    expect(describeCounts({ rows: 91, usable: 90, skipped: 1, badRows: 'fail' })).toBe('91 rows · 90 usable · 1 bad')
    // One row is "1 row", never "1 rows".
    expect(describeCounts({ rows: 1, usable: 1, skipped: 0, badRows: 'fail' })).toBe('1 row · 1 usable · 0 bad')
    expect([plural(1, 'row'), plural(0, 'row'), plural(1200, 'usable row')]).toEqual(['1 row', '0 rows', '1,200 usable rows'])
  })
})

describe('badRowsHeadline', () => {
  const errors = [
    { row: 3, unit: 'line', field: 'output', message: 'missing' },
    { row: 7, unit: 'line', field: null, message: 'not JSON' },
  ]

  it('says the job would stop at the first bad row when bad rows fail it', () => {
    expect(badRowsHeadline({ badRows: 'fail', skipped: 2, errors })).toBe(
      '2 rows do not fit the format: the job would stop at line 3, output.',
    )
  })

  it('says they would be skipped when bad rows are skipped', () => {
    expect(badRowsHeadline({ badRows: 'skip', skipped: 1, errors: errors.slice(0, 1) })).toBe(
      '1 row does not fit the format and would be skipped.',
    )
  })
})

describe('a feedback record', () => {
  it('shows its label as desirable or undesirable', () => {
    const record = { prompt: [{ role: 'user', content: 'Hi' }], completion: 'Go away.', label: false }
    expect(summariseRecord(record)).toEqual([
      { label: 'prompt', text: 'user: Hi' },
      { label: 'completion', text: 'Go away.' },
      { label: 'label', text: 'false (undesirable)' },
    ])
  })
})

describe('toolsLostWarning', () => {
  it('says how many rows lose their tools, singular for one', () => {
    expect(toolsLostWarning(1)).toMatch(/^1 row loses its tools: this model's chat template renders it the same without/)
    expect(toolsLostWarning(3)).toMatch(/^3 rows lose their tools: .* calls train as plain JSON text/)
  })
})
