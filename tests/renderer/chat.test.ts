/** The chat log as the page shows it: stored turns into exchanges, streamed tokens into answers, stop texts. */
import { describe, expect, it } from 'vitest'
import type { ChatTurn } from '@shared/chat'
import { exchangesFromTurns, parseStops, updateAnswer, type Exchange } from '../../renderer/src/logic/chat'

const labels = { primary: 'Self-test', compare: 'Base model' }

function turn(seq: number, role: ChatTurn['role'], pane: ChatTurn['pane'], content: string): ChatTurn {
  return { seq, role, pane, content, prompt: role === 'assistant' ? `prompt ${seq}` : null, reason: role === 'assistant' ? 'eos' : null, time: seq }
}

describe('chat log', () => {
  it('puts each question with its answers, one per pane, and keeps the prompts', () => {
    const exchanges = exchangesFromTurns(
      [turn(1, 'user', null, 'hi'), turn(2, 'assistant', 'primary', 'tuned'), turn(3, 'assistant', 'compare', 'base'), turn(4, 'user', null, 'again'), turn(5, 'assistant', 'primary', 'more')],
      labels,
    )
    expect(exchanges.map((exchange) => [exchange.question, exchange.panes.primary?.text, exchange.panes.compare?.text])).toEqual([
      ['hi', 'tuned', 'base'],
      ['again', 'more', undefined],
    ])
    expect(exchanges[0]?.panes.compare).toMatchObject({ label: 'Base model', prompt: 'prompt 3', reason: 'eos' })
  })

  it('grows only the answer a token belongs to', () => {
    const start: Exchange[] = [
      {
        question: 'q',
        panes: {
          primary: { generationId: 'g1', label: 'A', text: 'He', prompt: 'p', reason: null, message: null },
          compare: { generationId: 'g2', label: 'B', text: 'X', prompt: 'p', reason: null, message: null },
        },
      },
    ]
    const after = updateAnswer(start, 'g2', (answer) => ({ ...answer, text: answer.text + 'Y' }))
    expect([after[0]?.panes.primary?.text, after[0]?.panes.compare?.text]).toEqual(['He', 'XY'])
    expect(updateAnswer(start, 'unknown', (answer) => ({ ...answer, text: '' }))).toEqual(start)
  })

  it('reads stop texts one a line, with \\n for a newline', () => {
    expect(parseStops('###\n\n  \nUser:\\n')).toEqual(['###', 'User:\n'])
  })
})
