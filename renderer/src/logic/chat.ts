/**
 * The chat log as the page shows it: each question with its answers side by side, rebuilt from
 * stored turns and grown by streamed tokens. Pure functions, tested in tests/renderer/chat.test.ts.
 */
import type { ChatCompare, ChatPane, ChatSource, ChatTurn } from '@shared/chat'
import type { Job } from '@shared/jobs'

/** One pane's answer. */
export interface PaneAnswer {
  /** Set while (or after) it streamed in this window; null for a stored answer. */
  generationId: string | null
  label: string
  text: string
  prompt: string | null
  /** null while it is still coming. */
  reason: ChatTurn['reason']
  message: string | null
}

/** A question and its answers. */
export interface Exchange {
  question: string
  panes: Partial<Record<ChatPane, PaneAnswer>>
}

/** "Self-test" or "Self-test @ step-4"; the id when the job is unknown. */
export function sourceLabel(jobs: readonly Job[], source: ChatSource): string {
  const name = jobs.find((job) => job.id === source.jobId)?.name ?? source.jobId
  return source.checkpoint ? `${name} @ ${source.checkpoint}` : name
}

/** The second pane's label, or null when there is none. */
export function compareLabel(jobs: readonly Job[], compare: ChatCompare): string | null {
  if (compare === null) return null
  return compare === 'base' ? 'Base model' : sourceLabel(jobs, compare)
}

/** The exchanges of stored turns, in order (an answer before any question is dropped). */
export function exchangesFromTurns(turns: readonly ChatTurn[], labels: Record<ChatPane, string>): Exchange[] {
  const exchanges: Exchange[] = []
  for (const turn of turns) {
    if (turn.role === 'user') exchanges.push({ question: turn.content, panes: {} })
    else if (turn.pane && exchanges.length > 0) {
      const last = exchanges[exchanges.length - 1] as Exchange
      last.panes[turn.pane] = { generationId: null, label: labels[turn.pane], text: turn.content, prompt: turn.prompt, reason: turn.reason, message: null }
    }
  }
  return exchanges
}

/** The exchanges with one pane's answer changed, found by its generation id (unchanged when it is not there). */
export function updateAnswer(exchanges: readonly Exchange[], generationId: string, change: (answer: PaneAnswer) => PaneAnswer): Exchange[] {
  return exchanges.map((exchange) => {
    const entries = Object.entries(exchange.panes) as Array<[ChatPane, PaneAnswer]>
    if (!entries.some(([, answer]) => answer.generationId === generationId)) return exchange
    const panes = Object.fromEntries(entries.map(([pane, answer]) => [pane, answer.generationId === generationId ? change(answer) : answer]))
    return { ...exchange, panes }
  })
}

/** Stop texts typed one per line (blank lines dropped; "\n" typed as backslash-n means a newline). */
export function parseStops(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/\\n/g, '\n'))
    .filter((line) => line.trim().length > 0)
}

/** Completed jobs a chat can use (their adapter is on disk), newest first. */
export function chatJobs(jobs: readonly Job[]): Job[] {
  return jobs.filter((job) => job.status === 'completed').sort((first, second) => second.createdAt - first.createdAt)
}
