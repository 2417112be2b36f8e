/**
 * What a chat loads: the base model and the adapter folder of a job (or one of its checkpoints)
 * or of a library adapter (imported or combined). Refuses, naming the folder, an adapter that
 * is not on disk yet, a base model that is gone, and two adapters of different bases.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { ChatPane, ChatSource } from '@shared/chat'
import { appError } from '@shared/errors'
import type { Job } from '@shared/jobs'
import { adapterFolder, readAdapter } from '../adapters/library'
import { exportSource } from '../exports/sources'
import { cachedHubModel } from '../models/cache'

/** One adapter a pane can use. */
export interface ChatAdapter {
  dir: string
  /** "Self-test", "Self-test @ step-4", or a library adapter's name. */
  label: string
  /** The base model's folder (or hub id): the job's config, or what the library adapter records. */
  base: string
}

/** The adapter folder of a completed job, one of its whole checkpoints, or a library adapter. */
export async function chatAdapter(
  dataDir: string,
  source: ChatSource,
  getJob: (jobId: string) => Job | Promise<Job>,
): Promise<ChatAdapter> {
  if ('adapterId' in source) {
    const dir = adapterFolder(dataDir, source.adapterId)
    const adapter = readAdapter(dataDir, source.adapterId)
    if (!adapter)
      throw appError('not_found', `The adapter in ${dir} cannot be read (its adapter.json is damaged): import it again.`, {
        fields: { adapterId: 'damaged' },
      })
    return { dir, label: adapter.name, base: adapter.baseModel }
  }
  const job = await getJob(source.jobId)
  const found = exportSource(dataDir, job, source.checkpoint, 'chat with')
  return { dir: found.adapterDir, label: source.checkpoint ? `${job.name} @ ${source.checkpoint}` : job.name, base: job.config.model.path }
}

/** Refuses a base model that is not on this machine before the chat process is asked to load it. */
export function checkBase(adapter: ChatAdapter): void {
  const looksLikePath = path.isAbsolute(adapter.base) || adapter.base.startsWith('.')
  if (looksLikePath && !fs.existsSync(path.join(adapter.base, 'config.json'))) {
    throw appError(
      'not_found',
      `The base model of "${adapter.label}" is missing: ${adapter.base} has no config.json. Put the model back in that folder to chat with this adapter.`,
      { fields: { base: 'missing' } },
    )
  }
  if (!looksLikePath && cachedHubModel(adapter.base) === null) {
    throw appError(
      'not_found',
      `The base model of "${adapter.label}", ${adapter.base}, is not downloaded: download it on the Models page (or with a new job), then chat with this adapter.`,
      { fields: { base: 'not downloaded' } },
    )
  }
}

/** Refuses to compare adapters trained on different base models (one base is loaded). */
export function checkSameBase(first: ChatAdapter, second: ChatAdapter): void {
  if (first.base !== second.base) {
    throw appError(
      'invalid_input',
      `"${first.label}" was trained on ${first.base} and "${second.label}" on ${second.base}: side by side needs two adapters of the same base model.`,
      { fields: { compare: 'another base model' } },
    )
  }
}

/** What one pane answers with: a loaded adapter (a0, a1) or the base model (null), and whose chat template it uses. */
export interface ChatPaneTarget {
  pane: ChatPane
  label: string
  adapter: string | null
  templateFrom: string
}

/** The panes a question is answered in: the primary adapter, then the base model or a second adapter to compare with. */
export function chatPanes(primary: ChatAdapter, second: ChatAdapter | null, compareWithBase: boolean): ChatPaneTarget[] {
  const panes: ChatPaneTarget[] = [{ pane: 'primary', label: primary.label, adapter: 'a0', templateFrom: 'a0' }]
  if (compareWithBase) panes.push({ pane: 'compare', label: 'Base model', adapter: null, templateFrom: 'a0' })
  else if (second) panes.push({ pane: 'compare', label: second.label, adapter: 'a1', templateFrom: 'a1' })
  return panes
}
