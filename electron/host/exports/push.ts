/**
 * A push to the Hub: the export's files laid out as a repository (entries.ts hubLayout) in a folder
 * beside the staging files, then `python -m tunedeck_trainer.export push` (huggingface_hub) with
 * the token in HF_TOKEN. The child reports each file as it is sent; a push that fails or is
 * cancelled says which had been sent, and that none was committed.
 */
import fs from 'node:fs'
import path from 'node:path'
import { appError, isAppError } from '@shared/errors'
import { hubPushResultSchema, hubRepoPattern, type ExportProgress, type HubPushResult } from '@shared/exports'
import { hubLayout } from './entries'
import { runExportPython, type ExportPythonOptions } from './python'
import type { ZipEntry } from './zip'

/** Sends a progress change; ``throttled`` ones may be dropped. */
export type Reporter = (change: Partial<ExportProgress>, throttled?: boolean) => void

/** What one push needs. */
export interface PushInput {
  entries: ZipEntry[]
  /** The card's YAML front matter (cardMetadata). */
  metadata: string
  /** Made here, filled with the repository's files; removed by the caller with the staging folder. */
  folder: string
  repo: string
  private: boolean
  token: string
  signal: AbortSignal
  report: Reporter
}

/**
 * The Hub's card metadata (YAML front matter): the Hub lists the model under its base and shows it
 * as a PEFT adapter. base_model only when it is a hub id: the Hub refuses a local folder there.
 */
export function cardMetadata(baseModel: string, merged: boolean): string {
  const lines = ['---', 'library_name: ' + (merged ? 'transformers' : 'peft'), 'tags:', '- tunedeck', '- lora']
  if (hubRepoPattern.test(baseModel)) lines.push(`base_model: ${JSON.stringify(baseModel)}`)
  if (!merged) lines.push('pipeline_tag: text-generation')
  return lines.join('\n') + '\n---\n\n'
}

/** Lays the files out in ``folder`` (hard links where the disk allows, else copies); the card gets its metadata. */
export function writeHubFolder(entries: ZipEntry[], folder: string, metadata: string): number {
  let total = 0
  for (const entry of hubLayout(entries)) {
    const target = path.join(folder, ...entry.hubName.split('/'))
    fs.mkdirSync(path.dirname(target), { recursive: true })
    if ('data' in entry && entry.hubName === 'README.md') fs.writeFileSync(target, Buffer.concat([Buffer.from(metadata), entry.data]))
    else if ('data' in entry) fs.writeFileSync(target, entry.data)
    else {
      try {
        fs.linkSync(entry.source, target)
      } catch {
        fs.copyFileSync(entry.source, target)
      }
    }
    total += fs.statSync(target).size
  }
  return total
}

/** Uploads and commits; rejects with a message naming what had been sent when it stops early. */
export async function pushToHub(options: ExportPythonOptions, input: PushInput): Promise<HubPushResult> {
  const total = writeHubFolder(input.entries, input.folder, input.metadata)
  const sent: Array<{ file: string; bytes: number }> = []
  input.report({ phase: 'uploading', bytesDone: 0, bytesTotal: total, message: `creating ${input.repo} if it is new` })
  const args = ['push', '--folder', input.folder, '--repo', input.repo, '--message', 'Upload from Tunedeck']
  if (!input.private) args.push('--public')
  try {
    const raw = await runExportPython(options, args, {
      signal: input.signal,
      env: { HF_TOKEN: input.token },
      onProgress: (progress) => {
        if (progress.phase !== 'sent') return
        sent.push({ file: String(progress.file), bytes: Number(progress.bytes) || 0 })
        const done = sent.reduce((sum, item) => sum + item.bytes, 0)
        input.report({ phase: 'uploading', bytesDone: done, bytesTotal: total, message: `sent ${String(progress.file)}` })
      },
    })
    return hubPushResultSchema.parse(raw)
  } catch (error) {
    const fileCount = hubLayout(input.entries).length
    const what = sent.length
      ? `Sent before it stopped: ${sent.map((item) => item.file).join(', ')} (${sent.length} of ${fileCount} files); none was committed, so ${input.repo} shows none of them.`
      : `No file had been sent; ${input.repo} is unchanged.`
    if (input.signal.aborted) throw appError('conflict', `The push to ${input.repo} was cancelled. ${what}`)
    const reason = isAppError(error) ? error.message : error instanceof Error ? error.message : String(error)
    throw appError(isAppError(error) ? error.code : 'internal', `The push to ${input.repo} failed: ${reason} ${what}`)
  }
}
