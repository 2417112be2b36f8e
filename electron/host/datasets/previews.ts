/**
 * Dataset previews a client can follow and stop: one given a requestId reports how far it has
 * read (datasets.preview_progress) and may run for as long as a big file's token counts take,
 * until datasets.preview_cancel stops it. At most a few run at once, since each is a Python
 * process reading a whole file; a preview without a requestId must end within a minute.
 */
import type { DatasetPreview, PreviewProgress } from '@shared/datasets'
import { appError } from '@shared/errors'
import { previewDataset, type DatasetPreviewInput, type DatasetPreviewOptions } from './preview'

/** What the previews need from the host. */
export interface DatasetPreviewsOptions extends DatasetPreviewOptions {
  emit: (progress: PreviewProgress) => void
  /** Previews with a requestId running at once (default 2). */
  concurrent?: number
}

/** A followed preview may read for this long: a gigabyte of conversations tokenises in minutes on one core. */
const followedTimeoutMs = 2 * 60 * 60_000

/** The host's dataset previews. */
export class DatasetPreviews {
  private readonly running = new Map<string, AbortController>()

  constructor(private readonly options: DatasetPreviewsOptions) {}

  /** Previews the file; with a requestId, reporting progress and stoppable by cancel(). */
  async preview(input: DatasetPreviewInput): Promise<DatasetPreview> {
    const { requestId } = input
    if (requestId === undefined) return await previewDataset(input, this.options)
    if (this.running.has(requestId)) throw appError('conflict', `A preview with id ${requestId} is already running: choose another id.`)
    const concurrent = this.options.concurrent ?? 2
    if (this.running.size >= concurrent) {
      throw appError(
        'conflict',
        `${this.running.size} previews are already reading files: wait for one to end or cancel it, then preview again.`,
      )
    }
    const controller = new AbortController()
    this.running.set(requestId, controller)
    try {
      return await previewDataset(input, {
        ...this.options,
        timeoutMs: followedTimeoutMs,
        signal: controller.signal,
        onProgress: (done, total) => this.options.emit({ requestId, done, total }),
      })
    } finally {
      this.running.delete(requestId)
    }
  }

  /** Stops the preview; false when none runs under that id (it ended, or never started). */
  cancel(requestId: string): boolean {
    const controller = this.running.get(requestId)
    controller?.abort()
    return controller !== undefined
  }
}
