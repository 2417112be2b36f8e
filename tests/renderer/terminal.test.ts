/** The terminal text kept per job, and merging a reload with chunks that arrived meanwhile. */
import { describe, expect, it } from 'vitest'
import { appendTerminal, lastLines, mergeLoadedTerminal } from '../../renderer/src/logic/terminal'

describe('terminal text', () => {
  it('keeps only the newest characters beyond the limit', () => {
    expect(appendTerminal('abcdef', 'gh', 5)).toBe('defgh')
    expect(appendTerminal('ab', 'c', 5)).toBe('abc')
  })

  it('does not repeat chunks the loaded text already holds', () => {
    expect(mergeLoadedTerminal('line 1\nline 2\n', ['line 2\n'])).toBe('line 1\nline 2\n')
    expect(mergeLoadedTerminal('line 1\nline 2\n', ['line 2\n', 'line 3\n'])).toBe('line 1\nline 2\nline 3\n')
  })

  it('appends every chunk the loaded text does not hold', () => {
    expect(mergeLoadedTerminal('line 1\n', ['line 2\n', 'line 3\n'])).toBe('line 1\nline 2\nline 3\n')
    expect(mergeLoadedTerminal('', [])).toBe('')
  })

  it('gives the last non-empty lines without colour codes', () => {
    expect(lastLines('a\n\n\u001b[31mb\u001b[0m\r\nc\n', 2)).toEqual(['b', 'c'])
  })
})
