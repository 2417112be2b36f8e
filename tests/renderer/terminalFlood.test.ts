/** A flooding trainer on screen: xterm gets at most one bounded write at a time, the newest output, and a note of what it skipped. */
import { describe, expect, it } from 'vitest'
import { appendTerminal, maxTerminalChars, terminalWrite } from '../../renderer/src/logic/terminal'

const lines = (from: number, count: number) => Array.from({ length: count }, (_, index) => `line ${from + index}\r\n`).join('')

describe('terminal under a flood', () => {
  it('writes what was added when it is small', () => {
    expect(terminalWrite('old\r\nnew\r\n', 5)).toBe('new\r\n')
  })

  it('writes only the newest output from a line start, saying how much it skipped on screen', () => {
    const text = lines(0, 100_000)
    const added = text.length - 10
    const written = terminalWrite(text, added, 1000)
    // eslint-disable-next-line no-control-regex -- the note is dimmed with an escape sequence
    const note = /^\r\n\u001b\[2m\[([\d,]+) characters of output skipped on screen; terminal\.log keeps the output\]\u001b\[0m\r\n/.exec(
      written,
    )!
    expect(note).not.toBeNull()
    const newest = written.slice(note[0].length)
    expect(newest.length).toBeLessThanOrEqual(1000)
    expect(newest).toMatch(/^line \d+\r\n/)
    expect(newest.endsWith('line 99999\r\n')).toBe(true)
    expect(Number(note[1]!.replace(/,/g, '')) + newest.length).toBe(added)
  })

  it('keeps a bounded scrollback however much is appended', () => {
    let text = ''
    for (let index = 0; index < 2000; index += 1) text = appendTerminal(text, lines(index * 100, 100))
    expect(text.length).toBe(maxTerminalChars)
    expect(text.endsWith('line 199999\r\n')).toBe(true)
  })
})
