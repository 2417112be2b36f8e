/**
 * The job report (electron/shared/report.ts) as the lines the job page
 * shows: how the trainer read the data, whether the model should fit the
 * GPU (or how much memory it needs on the CPU), what an out-of-memory retry changed, and the MFU with how it is
 * counted.
 */
import type { JobConfig } from '@shared/config'
import type { JobReport } from '@shared/report'
import { methodTable } from '@shared/methods'

const formatLabels: Record<string, string> = {
  alpaca: 'Alpaca',
  sharegpt: 'ShareGPT',
  openai: 'OpenAI messages',
  prompt_completion: 'prompt / completion',
  text: 'plain text',
  preference: 'preference pairs',
}

const plural = (count: number, noun: string): string => `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`

/** "Read as Alpaca: 900 examples in 240 packed rows, 100 held out; 3 rows skipped, 12 truncated." */
export function datasetLine(dataset: NonNullable<JobReport['dataset']>): string {
  const format = formatLabels[dataset.format] ?? dataset.format
  const packed = dataset.packedRows !== null ? ` in ${plural(dataset.packedRows, 'packed row')}` : ''
  const held = dataset.validationExamples > 0 ? `, ${dataset.validationExamples.toLocaleString('en-US')} held out` : ''
  const problems = [
    dataset.skipped > 0 ? `${plural(dataset.skipped, 'row')} skipped` : '',
    dataset.truncated > 0 ? `${plural(dataset.truncated, 'example')} truncated to the maximum length` : '',
  ].filter(Boolean)
  return `Read as ${format}: ${plural(dataset.examples, 'example')}${packed}${held}${problems.length ? `; ${problems.join(', ')}` : ''}.`
}

/** 14.0 GB, or 350 MB below a gigabyte (a small model would read 0.0 GB). */
const gigabytes = (mb: number): string => (mb < 1024 ? `${Math.max(1, Math.round(mb))} MB` : `${(mb / 1024).toFixed(1)} GB`)

/**
 * The estimate against the free GPU memory, and whether it is a warning.
 * Without a CUDA device (no free memory to compare with) the trainer runs on
 * the CPU and its estimate leaves out the GPU's own overhead: it is the
 * memory this job needs here, not a GPU requirement, and is worded so.
 */
export function memoryLine(memory: NonNullable<JobReport['memory']>): { text: string; warning: boolean } {
  if (memory.ranks !== undefined && memory.ranks > 1) {
    const line = singleMemoryLine(memory)
    const layout = `Each of ${memory.ranks} ranks (${(memory.sharding ?? 'ddp').toUpperCase()})`
    const verdict = memory.placement ? ` The fit check: ${memory.placement}.` : ''
    return { text: `${layout}: ${line.text.charAt(0).toLowerCase()}${line.text.slice(1)}${verdict}`, warning: line.warning }
  }
  return singleMemoryLine(memory)
}

function singleMemoryLine(memory: NonNullable<JobReport['memory']>): { text: string; warning: boolean } {
  if (memory.freeMb === null || memory.fits === null) {
    return { text: `Training on the CPU (no GPU here): needs about ${gigabytes(memory.estimatedMb)} of memory.`, warning: false }
  }
  if (memory.fits)
    return { text: `Needs about ${gigabytes(memory.estimatedMb)} of the ${gigabytes(memory.freeMb)} free on the GPU.`, warning: false }
  return {
    text: `Needs about ${gigabytes(memory.estimatedMb)} but the GPU has ${gigabytes(memory.freeMb)} free: it may run out of memory. Lower the batch size or maximum length, or turn on gradient checkpointing or 4-bit loading.`,
    warning: true,
  }
}

/** One line per out-of-memory event. */
export function oomLine(oom: JobReport['ooms'][number]): string {
  const where = `Out of GPU memory in step ${oom.step} at ${oom.batchSize} rows × ${oom.maxSeqLength} tokens`
  if (oom.retry && oom.newBatchSize !== null && oom.newGradientAccumulation !== null) {
    return `${where}; retried with micro-batches of ${oom.newBatchSize} and gradient accumulation ${oom.newGradientAccumulation} (same effective batch).`
  }
  return `${where}; not retried.`
}

/**
 * "38.2%" or "—", and the note on how it is counted: a method with a reference
 * model (methods.ts: DPO, KTO) adds the reference's forward pass (see
 * python-runtime/tunedeck_trainer/throughput.py).
 */
export function mfuText(mfu: number | null, method: JobConfig['method'] = 'sft'): { value: string; note: string } {
  const counted = methodTable[method].reference
    ? "counting 6N FLOPs per token (the LoRA policy's 4N and the reference model's forward pass, 2N)"
    : 'counting 4N FLOPs per token (LoRA: no weight gradients for the frozen base)'
  return {
    value: mfu === null ? '—' : `${(mfu * 100).toFixed(1)}%`,
    note: mfu === null ? 'shown on a known NVIDIA GPU' : `model FLOPs utilisation, ${counted}`,
  }
}
