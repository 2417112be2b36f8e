/**
 * serve's cluster-run upload, for a browser: POST /upload/run?name=RUN.zip with the zip of
 * what a bundle's run wrote (the bundle folder, or its job/ folder) as the body and the token
 * as for every upload. The zip is streamed to a private staging folder, unpacked with the
 * adapter import's limits (no entry outside the folder, bounded size and count), imported by
 * jobs.import_run as a path on this machine would be, and the staging folder removed either
 * way. The answer is { ok: true, output: Job } or { ok: false, error }.
 */
import fs from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import { appError } from '@shared/errors'
import type { Host } from '../host'
import { unzipSafely, ZipRefused } from '../adapters/unzip'
import { copyStream } from '../datasets/copy'
import { handleUpload } from './upload'

/** The folder a run's zip unpacked to: its one top folder when it has just that (a bundle's zip does). */
function runFolder(unpacked: string): string {
  const entries = fs.readdirSync(unpacked, { withFileTypes: true })
  const only = entries.length === 1 ? entries[0] : undefined
  return only?.isDirectory() ? path.join(unpacked, only.name) : unpacked
}

/** Handles one run upload; never throws. `stagingDir` is a private folder of serve's (created). */
export async function handleRunUpload(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  options: { token: string; host: Pick<Host, 'dispatch'>; stagingDir: string; limitBytes: number; headers: Record<string, string> },
): Promise<void> {
  const importStream = async (source: IncomingMessage, name: string, limit: number): Promise<unknown> => {
    if (!name.toLowerCase().endsWith('.zip'))
      throw appError(
        'invalid_input',
        `${name} is not a zip: zip the run's folder (the bundle folder or its job/ folder) and upload that.`,
        { fields: { name: 'a .zip file' } },
      )
    fs.mkdirSync(options.stagingDir, { recursive: true, mode: 0o700 })
    const staging = fs.mkdtempSync(path.join(options.stagingDir, 'run-'))
    try {
      const zip = path.join(staging, 'run.zip')
      await copyStream(source, zip, name, limit)
      const unpacked = path.join(staging, 'unpacked')
      try {
        await unzipSafely(zip, unpacked)
      } catch (error) {
        if (error instanceof ZipRefused)
          throw appError('invalid_input', error.message.replaceAll(zip, name), { fields: { name: 'not a readable zip' } })
        throw error
      }
      // Named after the zip, which names the imported job ("Imported from <name>").
      fs.mkdirSync(path.join(staging, 'named'))
      const named = path.join(
        staging,
        'named',
        path
          .basename(name)
          .replace(/\.zip$/i, '')
          .replace(/[^\w.-]+/g, '-')
          .replace(/^[.-]+/, '') || 'run',
      )
      fs.renameSync(runFolder(unpacked), named)
      const imported = await options.host.dispatch('jobs.import_run', { path: named })
      // The staging folder means nothing to the person who uploaded: name their zip instead.
      if (!imported.ok)
        throw appError(imported.error.code, imported.error.message.replaceAll(named, path.basename(name)), imported.error.data)
      return imported.output
    } finally {
      fs.rmSync(staging, { recursive: true, force: true })
    }
  }
  const library = {
    importStream,
    importFolderStream: () => Promise.reject(appError('invalid_input', 'A run comes as one zip of its folder.')),
  }
  await handleUpload(request, response, url, { ...options, library })
}
