/**
 * A dataset preview the page follows and can stop: it is sent with a requestId of its own, the
 * host's datasets.preview_progress events under that id report how far the file has been read,
 * and cancel() asks the host to stop it (the preview then rejects as cancelled).
 */
import type { DatasetPreview } from '@shared/datasets'
import type { RouteInput } from '@shared/routes'
import type { ReadProgress } from '../logic/datasetPreview'
import { getClient } from './client'

export interface FollowedPreview {
  result: Promise<DatasetPreview>
  /** Asks the host to stop the preview; does nothing once it has answered. */
  cancel(): void
}

let counter = 0

/** Starts the preview; `onProgress` hears each report until it ends. */
export function followPreview(
  input: Omit<RouteInput<'datasets.preview'>, 'requestId'>,
  onProgress: (progress: ReadProgress) => void,
): FollowedPreview {
  const client = getClient()
  counter += 1
  const requestId = `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 10)}`
  const stop = client.on('datasets.preview_progress', (progress) => {
    if (progress.requestId === requestId) onProgress({ done: progress.done, total: progress.total })
  })
  let settled = false
  const result = client.request('datasets.preview', { ...input, requestId }).finally(() => {
    settled = true
    stop()
  })
  return {
    result,
    // Once the preview has answered there is nothing to stop: no request.
    cancel: () => void (settled || client.request('datasets.preview_cancel', { requestId }).catch(() => undefined)),
  }
}
