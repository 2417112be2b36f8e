/**
 * Uploads a dataset file to the serve host (POST /upload/dataset) with the
 * page's token. XMLHttpRequest sends the File straight from disk (never read
 * whole into the page) and reports upload progress; abort() cancels, and the
 * host then keeps nothing of it. A save_to_disk folder goes the same way,
 * packed into one tar.
 */
import { adapterUploadPath, type LibraryAdapter } from '@shared/adapters'
import { datasetUploadPath, type DatasetImportResult } from '@shared/datasets'
import { runUploadPath } from '@shared/api'
import { appErrorSchema } from '@shared/errors'
import type { Job } from '@shared/jobs'
import { tarOf, type FolderFile } from '@shared/folderTar'
import { httpHost } from './remote'

/** A running upload: its result, and a way to stop it. */
export interface Upload<T = DatasetImportResult> {
  done: Promise<T>
  abort(): void
}

/** Starts uploading `file`; `progress(sent, total)` follows the bytes. */
export function uploadDataset(file: File, progress: (sent: number, total: number) => void): Upload {
  return uploadBody(file, file.name, `${datasetUploadPath}?name=${encodeURIComponent(file.name)}`, progress)
}

/** Starts uploading an adapter zip into the adapter library (checked there as an import from disk is). */
export function uploadAdapterZip(file: File, progress: (sent: number, total: number) => void): Upload<LibraryAdapter> {
  return uploadBody<LibraryAdapter>(file, file.name, `${adapterUploadPath}?name=${encodeURIComponent(file.name)}`, progress)
}

/** Starts uploading the zip of a cluster run's folder, imported as a new job (jobs.import_run). */
export function uploadRunZip(file: File, progress: (sent: number, total: number) => void): Upload<Job> {
  return uploadBody<Job>(file, file.name, `${runUploadPath}?name=${encodeURIComponent(file.name)}`, progress)
}

/** Starts uploading a save_to_disk folder, packed as one tar (folderUpload.ts). */
export function uploadFolder(name: string, files: readonly FolderFile[], progress: (sent: number, total: number) => void): Upload {
  return uploadBody(tarOf(files), name, `${datasetUploadPath}?name=${encodeURIComponent(name)}&folder=tar`, progress)
}

function uploadBody<T = DatasetImportResult>(
  body: Blob,
  name: string,
  address: string,
  progress: (sent: number, total: number) => void,
): Upload<T> {
  const request = new XMLHttpRequest()
  const file = { name, size: body.size }
  const done = new Promise<T>((resolve, reject) => {
    // The serve this window drives: the one that sent the page, or a remote one (remote.ts).
    const host = httpHost()
    request.open('POST', `${host.origin}${address}`)
    request.setRequestHeader('Authorization', `Bearer ${host.token}`)
    request.upload.onprogress = (event) => progress(event.loaded, event.lengthComputable ? event.total : file.size)
    request.onerror = () => reject(new Error(`The upload of ${file.name} failed: the connection to the Tunedeck host broke. Try again.`))
    request.onabort = () => reject(new Error(`The upload of ${file.name} was cancelled; nothing was kept.`))
    request.onload = () => {
      let body: unknown
      try {
        body = JSON.parse(request.responseText)
      } catch {
        return reject(new Error(`The upload of ${file.name} got an unexpected answer (HTTP ${request.status}).`))
      }
      const answer = body as { ok?: boolean; output?: T; error?: unknown }
      if (answer.ok && answer.output) return resolve(answer.output)
      const error = appErrorSchema.safeParse(answer.error)
      reject(new Error(error.success ? error.data.message : `The upload of ${file.name} failed (HTTP ${request.status}).`))
    }
    request.send(body)
  })
  return { done, abort: () => request.abort() }
}
