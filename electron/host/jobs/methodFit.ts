/**
 * jobs.create refuses a job whose method does not train on what its dataset is read as (a
 * feedback file with DPO, preference pairs with SFT), so neither the form nor the CLI can start
 * one that the trainer would fail only once it runs. The format is the chosen one, or what the
 * trainer's own detection makes of the file's first rows (`preview --detect`, well under a second).
 */
import path from 'node:path'
import type { JobConfig } from '@shared/config'
import { methodForFormat } from '@shared/methods'
import { previewDataset, type DatasetPreviewOptions } from '../datasets/preview'
import { invalidField } from './config'

/** The format the trainer reads the job's dataset as; null when it cannot tell (the trainer then reports why). */
async function datasetFormat(
  dataset: Pick<JobConfig['dataset'], 'path' | 'format' | 'columns' | 'textSplit' | 'csvHeader'>,
  options: DatasetPreviewOptions,
): Promise<string | null> {
  if (dataset.format !== 'auto') return dataset.format
  try {
    const preview = await previewDataset(
      { path: dataset.path, columns: dataset.columns, textSplit: dataset.textSplit, csvHeader: dataset.csvHeader, limit: 0 },
      { ...options, detectOnly: true },
    )
    return preview.ok ? preview.format : null
  } catch {
    // No Python yet (set-up still running) or a crash: the trainer's own check refuses the job when it starts.
    return null
  }
}

/** Throws an invalid_input error on the method field, naming the method, the format and the method that fits. */
export async function checkMethodFits(config: JobConfig, options: DatasetPreviewOptions): Promise<void> {
  const format = await datasetFormat(config.dataset, options)
  const fit = methodForFormat(format, config.method)
  if (format !== null && fit !== null) {
    const file = path.basename(config.dataset.path)
    invalidField(
      'method',
      `"${config.method}" does not train on ${file}: it is read as "${format}", ${fit.what}, which method "${fit.method}" trains on. Choose method "${fit.method}", or a dataset of another format.`,
    )
  }
  // Every dataset of a mix must fit the method too; the refusal names the mixed one.
  for (const [index, entry] of config.dataset.mix.entries()) {
    const mixed = await datasetFormat(entry, options)
    const other = methodForFormat(mixed, config.method)
    if (mixed === null || other === null) continue
    invalidField(
      `dataset.mix.${index}.path`,
      `"${config.method}" does not train on ${path.basename(entry.path)}: it is read as "${mixed}", ${other.what}. Remove it from the mix, or choose method "${other.method}" for all of the datasets.`,
    )
  }
}
