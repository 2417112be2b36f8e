/**
 * What a chat loads: the base model a job trained on and the adapter folders of the job (or
 * its checkpoints). Refuses, naming the folder, an adapter that is not on disk yet and two
 * adapters of different bases.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { ChatSource } from '@shared/chat'
import { appError } from '@shared/errors'
import type { Job } from '@shared/jobs'
import { wholeCheckpoint } from '../jobs/checkpoints'

/** One adapter a pane can use. */
export interface ChatAdapter {
  dir: string
  /** "Self-test" or "Self-test @ step-4". */
  label: string
  /** The base model's folder (or hub id) from the job's config. */
  base: string
}

/** The adapter folder of a completed job, or of one of its whole checkpoints. */
export function chatAdapter(dataDir: string, job: Job, source: ChatSource): ChatAdapter {
  const jobDir = path.join(dataDir, 'jobs', job.id)
  const base = job.config.model.path
  if (source.checkpoint === null) {
    const dir = path.join(jobDir, 'adapter')
    if (job.status !== 'completed' || !fs.existsSync(path.join(dir, 'adapter_model.safetensors'))) {
      throw appError('conflict', `Job "${job.name}" has no adapter yet (it is ${job.status}): chat with it once it has completed, or with one of its checkpoints.`, {
        fields: { checkpoint: 'no adapter yet' },
      })
    }
    return { dir, label: job.name, base }
  }
  const name = source.checkpoint
  const dir = path.join(jobDir, 'checkpoints', name)
  const safe = !name.startsWith('.') && !name.includes('/') && !name.includes('\\')
  if (!safe || wholeCheckpoint(jobDir, name) === undefined || !fs.existsSync(path.join(dir, 'adapter_model.safetensors'))) {
    throw appError('not_found', `Job "${job.name}" has no checkpoint "${name}" with an adapter in ${dir}: pick one from its list of checkpoints.`, {
      fields: { checkpoint: 'no such checkpoint' },
    })
  }
  return { dir, label: `${job.name} @ ${name}`, base }
}

/** Refuses a base model folder that is gone before the chat process is asked to load it. */
export function checkBase(adapter: ChatAdapter): void {
  const looksLikePath = path.isAbsolute(adapter.base) || adapter.base.startsWith('.')
  if (looksLikePath && !fs.existsSync(path.join(adapter.base, 'config.json'))) {
    throw appError(
      'not_found',
      `The base model of "${adapter.label}" is missing: ${adapter.base} has no config.json. Put the model back in that folder to chat with this adapter.`,
      { fields: { base: 'missing' } },
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
