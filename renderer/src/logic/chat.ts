/**
 * The chat log as the page shows it: each question with its answers side by side, rebuilt from
 * stored turns and grown by streamed tokens. Pure functions, tested in tests/renderer/chat.test.ts.
 */
import type { ChatCompare, ChatPane, ChatSource, ChatTurn } from '@shared/chat'
import type { LibraryAdapter } from '@shared/adapters'
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
  /** The host's word on how the prompt was made: the oldest messages left out to fit the context. */
  note?: string | null
}

/** A question and its answers. */
export interface Exchange {
  question: string
  panes: Partial<Record<ChatPane, PaneAnswer>>
}

/** What the page knows to name an adapter: the jobs and the library's adapters. */
export interface Known {
  jobs: readonly Job[]
  adapters: readonly LibraryAdapter[]
}

/** "Self-test", "Self-test @ step-4" or a library adapter's name; the id when it is unknown. */
export function sourceLabel(known: Known, source: ChatSource): string {
  if ('adapterId' in source) return known.adapters.find((adapter) => adapter.id === source.adapterId)?.name ?? source.adapterId
  const name = known.jobs.find((job) => job.id === source.jobId)?.name ?? source.jobId
  return source.checkpoint ? `${name} @ ${source.checkpoint}` : name
}

/** The second pane's label, or null when there is none. */
export function compareLabel(known: Known, compare: ChatCompare): string | null {
  if (compare === null) return null
  return compare === 'base' ? 'Base model' : sourceLabel(known, compare)
}

/** The base model an adapter was trained on (folder or hub id); undefined when it is unknown. */
export function sourceBase(known: Known, source: ChatSource): string | undefined {
  if ('adapterId' in source) return known.adapters.find((adapter) => adapter.id === source.adapterId)?.baseModel
  return known.jobs.find((job) => job.id === source.jobId)?.config.model.path
}

/** A select option's value for a source: "job:<id>/<checkpoint>" or "adapter:<id>". */
export function sourceKey(source: ChatSource): string {
  return 'adapterId' in source ? `adapter:${source.adapterId}` : `job:${source.jobId}/${source.checkpoint ?? ''}`
}

/** The source a select option's value names; null for anything else (the "pick one" option). */
export function sourceFromKey(key: string): ChatSource | null {
  if (key.startsWith('adapter:') && key.length > 8) return { adapterId: key.slice(8) }
  const job = /^job:([^/]+)\/(.*)$/.exec(key)
  return job?.[1] ? { jobId: job[1], checkpoint: job[2] || null } : null
}

/** Every adapter a chat can use, each once: completed jobs (newest first), then the library's adapters whose base is here. */
export function chatSources(known: Known): Array<{ source: ChatSource; label: string; base: string }> {
  const jobs = chatJobs(known.jobs).map((job) => ({
    source: { jobId: job.id, checkpoint: null },
    label: job.name,
    base: job.config.model.path,
  }))
  const library = known.adapters
    .filter((adapter) => adapter.baseAvailable)
    .map((adapter) => ({ source: { adapterId: adapter.id }, label: `${adapter.name} (${adapter.source})`, base: adapter.baseModel }))
  return [...jobs, ...library]
}

/** The exchanges of stored turns, in order (an answer before any question is dropped). */
export function exchangesFromTurns(turns: readonly ChatTurn[], labels: Record<ChatPane, string>): Exchange[] {
  const exchanges: Exchange[] = []
  for (const turn of turns) {
    if (turn.role === 'user') exchanges.push({ question: turn.content, panes: {} })
    else if (turn.pane && exchanges.length > 0) {
      const last = exchanges[exchanges.length - 1] as Exchange
      last.panes[turn.pane] = {
        generationId: null,
        label: labels[turn.pane],
        text: turn.content,
        prompt: turn.prompt,
        reason: turn.reason,
        message: null,
      }
    }
  }
  return exchanges
}

/** The exchanges with one pane's answer changed, found by its generation id (unchanged when it is not there). */
export function updateAnswer(exchanges: readonly Exchange[], generationId: string, change: (answer: PaneAnswer) => PaneAnswer): Exchange[] {
  return exchanges.map((exchange) => {
    const entries = Object.entries(exchange.panes) as Array<[ChatPane, PaneAnswer]>
    if (!entries.some(([, answer]) => answer.generationId === generationId)) return exchange
    const panes = Object.fromEntries(
      entries.map(([pane, answer]) => [pane, answer.generationId === generationId ? change(answer) : answer]),
    )
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
