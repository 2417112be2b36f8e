/**
 * Where an export reads from: the job's adapter (completed) or one of its checkpoints, and
 * where it writes by default. Refuses, naming the folder, what cannot be exported.
 */
import fs from 'node:fs'
import path from 'node:path'
import { appError } from '@shared/errors'
import type { Job } from '@shared/jobs'
import { wholeCheckpoint } from '../jobs/checkpoints'

/** The adapter folder an export reads. */
export interface ExportSource {
  jobDir: string
  adapterDir: string
  checkpoint: string | null
}

/** The job's folder under the data directory. */
export function jobFolder(dataDir: string, jobId: string): string {
  return path.join(dataDir, 'jobs', jobId)
}

/**
 * The adapter of a completed job, or of its checkpoint ``checkpoint``; refuses one that is not
 * there, saying what to ``action`` instead ("export", "chat with", "combine").
 */
export function exportSource(dataDir: string, job: Job, checkpoint: string | null, action = 'export'): ExportSource {
  const jobDir = jobFolder(dataDir, job.id)
  if (checkpoint === null) {
    const adapterDir = path.join(jobDir, 'adapter')
    if (job.status !== 'completed' || !fs.existsSync(path.join(adapterDir, 'adapter_model.safetensors'))) {
      throw appError(
        'conflict',
        `Job "${job.name}" has no adapter yet (it is ${job.status}): ${action} it once it has completed, or ${action} one of its checkpoints.`,
        { fields: { checkpoint: 'no adapter yet' } },
      )
    }
    return { jobDir, adapterDir, checkpoint }
  }
  if (checkpoint.startsWith('.') || checkpoint.includes('/') || checkpoint.includes('\\')) {
    throw appError('invalid_input', `checkpoint: "${checkpoint}" is not a checkpoint name`, {
      fields: { checkpoint: 'not a checkpoint name' },
    })
  }
  const adapterDir = path.join(jobDir, 'checkpoints', checkpoint)
  // Only a whole checkpoint (state.json written last says complete), never one being written.
  if (wholeCheckpoint(jobDir, checkpoint) === undefined || !fs.existsSync(path.join(adapterDir, 'adapter_model.safetensors'))) {
    throw appError(
      'not_found',
      `Job "${job.name}" has no checkpoint "${checkpoint}" with an adapter in ${adapterDir}: pick one from its list of checkpoints.`,
      {
        fields: { checkpoint: 'no such checkpoint' },
      },
    )
  }
  return { jobDir, adapterDir, checkpoint }
}

/** <dataDir>/exports/<job name>[-<checkpoint>][-merged][-<gguf type>].zip, with characters unsafe in file names replaced. */
export function defaultDestination(
  dataDir: string,
  job: Job,
  checkpoint: string | null,
  merged = false,
  ggufType: string | null = null,
): string {
  const parts = [job.name, checkpoint, merged ? 'merged' : null, ggufType].filter((part): part is string => Boolean(part))
  // Control characters go too (code points below 32), without a control-character regex.
  const printable = [...parts.join('-')].map((character) => (character.charCodeAt(0) < 32 ? '_' : character)).join('')
  const stem = printable.replace(/[<>:"/\\|?*]+/g, '_').trim() || job.id
  return path.join(dataDir, 'exports', `${stem}.zip`)
}
