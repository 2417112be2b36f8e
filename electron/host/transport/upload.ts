/**
 * serve's dataset upload: POST /upload/dataset?name=FILE with the file as
 * the body (or ?name=FOLDER&folder=tar with a save_to_disk folder packed as a tar), the token as for the WebSocket (Authorization: Bearer, or the
 * tunedeck.token.<token> subprotocol header). The body is streamed straight
 * into the library's staging folder (never held whole), stopped past the
 * size limit, and a dropped connection leaves nothing behind. The answer is
 * JSON: { ok: true, output: DatasetImportResult } or { ok: false, error }.
 * POST /upload/adapter?name=FILE.zip takes an adapter zip the same way (output: LibraryAdapter).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { appError, isAppError, type AppError } from '@shared/errors'
import type { DatasetLibrary } from '../datasets/library'
import type { AdapterService } from '../adapters/service'
import { tooLarge } from '../datasets/copy'
import { hasToken } from './auth'

/** The default largest upload: 4 GiB (serve --max-upload-mb raises it). */
export const defaultUploadLimitBytes = 4 * 1024 * 1024 * 1024

const statusOf: Record<AppError['code'], number> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  unauthorized: 401,
  python_missing: 503,
  internal: 500,
}

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (response.headersSent) return void response.destroy()
  // A refused body may still be arriving: close, so the connection is not reused mid-body.
  response.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    ...(status === 200 ? {} : { Connection: 'close' }),
  })
  response.end(JSON.stringify(body))
}

/** Handles one adapter zip upload (the adapter library's import); never throws. */
export async function handleAdapterUpload(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  options: { token: string; adapters: Pick<AdapterService, 'importStream'>; limitBytes: number; headers: Record<string, string> },
): Promise<void> {
  const library = {
    importStream: (source: IncomingMessage, name: string, limit: number) => options.adapters.importStream(source, name, limit),
    importFolderStream: () => Promise.reject(appError('invalid_input', 'An adapter comes as one zip, not a folder.')),
  }
  await handleUpload(request, response, url, { ...options, library })
}

/** What an upload is imported into: the dataset library, or the adapter library (adapter zips). */
interface UploadTarget {
  importStream(source: IncomingMessage, name: string, limitBytes: number): Promise<unknown>
  importFolderStream(source: IncomingMessage, name: string, limitBytes: number): Promise<unknown>
}

/** Handles one upload request; never throws. */
export async function handleUpload(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  options: { token: string; library: UploadTarget | DatasetLibrary; limitBytes: number; headers: Record<string, string> },
): Promise<void> {
  const fail = (error: AppError): void => answer(response, statusOf[error.code], { ok: false, error }, options.headers)
  if (!hasToken(request, url, options.token)) {
    request.resume()
    return fail(appError('unauthorized', 'The upload needs the token (Authorization: Bearer <token>), as the WebSocket does.'))
  }
  if (request.method !== 'POST') return fail(appError('invalid_input', 'Upload with POST, the file as the body.'))
  const name = url.searchParams.get('name')?.trim() ?? ''
  if (name === '')
    return fail(
      appError('invalid_input', 'name: give the file name as ?name=FILE (its extension tells the format).', {
        fields: { name: 'missing' },
      }),
    )
  const declared = Number(request.headers['content-length'] ?? '0')
  if (declared > options.limitBytes) {
    request.resume()
    return answer(response, 413, { ok: false, error: tooLarge(name, options.limitBytes) }, options.headers)
  }
  try {
    // ?folder=tar: a save_to_disk folder the page packed into one uncompressed tar.
    const folder = url.searchParams.get('folder') === 'tar'
    const output = folder
      ? await options.library.importFolderStream(request, name, options.limitBytes)
      : await options.library.importStream(request, name, options.limitBytes)
    answer(response, 200, { ok: true, output }, options.headers)
  } catch (error) {
    request.resume()
    fail(isAppError(error) ? appError(error.code, error.message, error.data) : appError('internal', (error as Error).message))
  }
}
