/** The chat log as the page shows it: stored turns into exchanges, streamed tokens into answers, stop texts. */
import { describe, expect, it } from 'vitest'
import type { LibraryAdapter } from '@shared/adapters'
import type { ChatTurn } from '@shared/chat'
import type { Job } from '@shared/jobs'
import {
  chatSources,
  exchangesFromTurns,
  parseStops,
  sourceFromKey,
  sourceKey,
  sourceLabel,
  updateAnswer,
  type Exchange,
} from '../../renderer/src/logic/chat'

const labels = { primary: 'Self-test', compare: 'Base model' }

function turn(seq: number, role: ChatTurn['role'], pane: ChatTurn['pane'], content: string): ChatTurn {
  return {
    seq,
    role,
    pane,
    content,
    prompt: role === 'assistant' ? `prompt ${seq}` : null,
    reason: role === 'assistant' ? 'eos' : null,
    time: seq,
  }
}

describe('chat log', () => {
  it('puts each question with its answers, one per pane, and keeps the prompts', () => {
    const exchanges = exchangesFromTurns(
      [
        turn(1, 'user', null, 'hi'),
        turn(2, 'assistant', 'primary', 'tuned'),
        turn(3, 'assistant', 'compare', 'base'),
        turn(4, 'user', null, 'again'),
        turn(5, 'assistant', 'primary', 'more'),
      ],
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

  it('offers completed jobs and the library adapters whose base is here, each named and keyed once', () => {
    const job = (id: string, name: string, status: Job['status'], createdAt: number) =>
      ({ id, name, status, createdAt, config: { model: { path: '/models/tiny' } } }) as unknown as Job
    const adapter = (id: string, name: string, baseAvailable: boolean) =>
      ({ id, name, baseAvailable, baseModel: '/models/tiny', source: 'combined' }) as unknown as LibraryAdapter
    const known = {
      jobs: [job('j1', 'First', 'completed', 1), job('j2', 'Second', 'completed', 2), job('j3', 'Running', 'running', 3)],
      adapters: [adapter('a1', 'Merged', true), adapter('a2', 'Far away', false)],
    }
    const sources = chatSources(known)
    expect(sources.map((option) => option.label)).toEqual(['Second', 'First', 'Merged (combined)'])
    for (const option of sources) expect(sourceFromKey(sourceKey(option.source))).toEqual(option.source)
    expect(sourceFromKey(sourceKey({ jobId: 'j1', checkpoint: 'step-4' }))).toEqual({ jobId: 'j1', checkpoint: 'step-4' })
    expect(sourceFromKey('')).toBeNull()
    expect(sourceLabel(known, { jobId: 'j1', checkpoint: 'step-4' })).toBe('First @ step-4')
    expect(sourceLabel(known, { adapterId: 'a2' })).toBe('Far away')
    expect(sourceLabel(known, { adapterId: 'gone' })).toBe('gone')
  })
})
