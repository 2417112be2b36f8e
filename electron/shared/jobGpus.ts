/**
 * The GPUs of one job, as its page shows them: one row per GPU the job trains on (its
 * training.gpus setting: every GPU, the first N, or a list of indices), each with that GPU's
 * readings from the host's latest sample and the job's MFU. The trainer measures MFU per rank
 * (the step's tokens per second divided by the ranks, against one GPU's peak), and every rank
 * trains an equal share of each step, so each GPU of the job carries the same MFU.
 */
import type { GpuReading, GpuSample } from './system'

/** training.gpus as the job config holds it. */
export type GpuChoice = 'all' | number | readonly number[]

/** One GPU of the job and what was last read from it. */
export interface JobGpuRow {
  reading: GpuReading
  /** The job's latest MFU (0 to 1), or null when not measured (CPU, unknown peak, no step yet). */
  mfu: number | null
}

/**
 * The indices the job trains on, among the sample's GPUs. A count takes the first N by index:
 * the trainer's CUDA order, which nvidia-smi's matches when CUDA_DEVICE_ORDER=PCI_BUS_ID.
 */
export function jobGpuIndices(choice: GpuChoice, available: readonly number[]): number[] {
  const sorted = [...available].sort((a, b) => a - b)
  if (choice === 'all') return sorted
  if (typeof choice === 'number') return sorted.slice(0, choice)
  return choice.filter((index) => sorted.includes(index))
}

/** The rows of the job page's GPU card, in index order; none when the sample has no GPU. */
export function jobGpuRows(sample: GpuSample | null, choice: GpuChoice, mfu: number | null): JobGpuRow[] {
  if (!sample?.available) return []
  const wanted = new Set(
    jobGpuIndices(
      choice,
      sample.gpus.map((gpu) => gpu.index),
    ),
  )
  return sample.gpus
    .filter((gpu) => wanted.has(gpu.index))
    .sort((a, b) => a.index - b.index)
    .map((reading) => ({ reading, mfu }))
}

/** MFU as the card shows it. */
export function mfuCell(mfu: number | null): string {
  return mfu === null ? 'not measured' : `${(mfu * 100).toFixed(1)}%`
}
