/**
 * Per-job terminal text: the tail of terminal.log from jobs.terminal, then
 * job.terminal chunks appended. `total` counts every character ever appended
 * and `resets` counts replacements, so the xterm view can write only what is
 * new and start over only when the text was replaced.
 */
import { create } from 'zustand'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { appendTerminal, mergeLoadedTerminal } from '../logic/terminal'

/** One job's terminal text and its change counters. */
export interface TerminalText {
  text: string
  total: number
  resets: number
}

const empty: TerminalText = { text: '', total: 0, resets: 0 }

// Chunks that arrive while a load is in flight, per job; not state, nothing renders them.
const chunksDuringLoad = new Map<string, string[]>()

// Output not yet in the store, per job: a flooding trainer sends hundreds of chunks a
// second, and the page renders them once a frame instead of once a chunk.
// Bounded like the text itself, with the count of every character for `total`.
const unflushed = new Map<string, { text: string; count: number }>()
let flushTimer: ReturnType<typeof setTimeout> | null = null
const flushMs = 16

interface TerminalState {
  byJob: Record<string, TerminalText>
  errors: Record<string, string>
  load(jobId: string): Promise<void>
  append(jobId: string, data: string): void
}

/** One store for every job's terminal; use as useTerminalStore(selector). */
export const useTerminalStore = create<TerminalState>()((set, get) => ({
  byJob: {},
  errors: {},
  async load(jobId) {
    chunksDuringLoad.set(jobId, [])
    try {
      const { text } = await getClient().request('jobs.terminal', { jobId })
      const merged = mergeLoadedTerminal(text, chunksDuringLoad.get(jobId) ?? [])
      // The host wrote every chunk received so far to the file before sending it: the loaded text has them.
      unflushed.delete(jobId)
      const previous = get().byJob[jobId] ?? empty
      const next: TerminalText = { text: merged, total: previous.total + merged.length, resets: previous.resets + 1 }
      const { [jobId]: _cleared, ...errors } = get().errors
      set({ byJob: { ...get().byJob, [jobId]: next }, errors })
    } catch (error) {
      set({ errors: { ...get().errors, [jobId]: `Could not load the terminal output: ${errorMessage(error)}` } })
    } finally {
      chunksDuringLoad.delete(jobId)
    }
  },
  append(jobId, data) {
    chunksDuringLoad.get(jobId)?.push(data)
    const waiting = unflushed.get(jobId)
    unflushed.set(jobId, { text: appendTerminal(waiting?.text ?? '', data), count: (waiting?.count ?? 0) + data.length })
    flushTimer ??= setTimeout(() => {
      flushTimer = null
      const byJob = { ...get().byJob }
      for (const [id, waiting] of unflushed) {
        const previous = byJob[id] ?? empty
        byJob[id] = { text: appendTerminal(previous.text, waiting.text), total: previous.total + waiting.count, resets: previous.resets }
      }
      unflushed.clear()
      set({ byJob })
    }, flushMs)
  },
}))

/** The job's terminal text and counters. */
export function useTerminal(jobId: string): TerminalText {
  return useTerminalStore((state) => state.byJob[jobId] ?? empty)
}
