/**
 * The job page's GPU card, one row per GPU of the job (electron/shared/jobGpus.ts): a two-GPU machine's nvidia-smi output
 * (recorded, given to the host's GpuTelemetry at its hardware seam, the nvidia-smi run; this
 * machine has no GPU) goes through the host's parsing into the rows the card draws for each
 * training.gpus choice.
 */
import { describe, expect, it } from 'vitest'
import { GpuTelemetry } from '../../electron/host/gpu/telemetry'
import { jobGpuIndices, jobGpuRows, mfuCell } from '../../electron/shared/jobGpus'

// index, name, utilization, memory used, memory total, temperature, power, SM clock, memory clock
const twoGpus = [
  '0, NVIDIA GeForce RTX 4090, 97, 20110, 24564, 71, 402.50, 2520, 10501',
  '1, NVIDIA GeForce RTX 4090, 88, 19870, 24564, 66, 377.10, 2505, 10501',
  '',
].join('\n')

async function sample() {
  // A test double at the hardware seam only: nvidia-smi's recorded answer for two GPUs.
  return new GpuTelemetry(async () => ({ ok: true, stdout: twoGpus })).sample()
}

describe('the GPUs of a job', () => {
  it('shows every GPU of a job on all of them, each with its own readings and the MFU', async () => {
    const rows = jobGpuRows(await sample(), 'all', 0.412)
    expect(rows.map((row) => row.reading.index)).toEqual([0, 1])
    expect(rows.map((row) => [row.reading.utilization, row.reading.memoryUsedMb, row.reading.powerW])).toEqual([
      [97, 20110, 402.5],
      [88, 19870, 377.1],
    ])
    expect(rows.map((row) => mfuCell(row.mfu))).toEqual(['41.2%', '41.2%'])
  })

  it('keeps to the GPUs the job names: a count takes the first ones, a list those indices', async () => {
    const taken = await sample()
    expect(jobGpuRows(taken, 1, null).map((row) => row.reading.index)).toEqual([0])
    expect(jobGpuRows(taken, [1], null).map((row) => row.reading.index)).toEqual([1])
    expect(jobGpuIndices([1, 5], [0, 1])).toEqual([1])
    expect(mfuCell(null)).toBe('not measured')
  })

  it('draws no row on a machine without a GPU (the card says why instead)', async () => {
    const none = await new GpuTelemetry(async () => ({ ok: false, missing: false, message: 'NVIDIA-SMI has failed' })).sample()
    expect(none.available).toBe(false)
    expect(jobGpuRows(none, 'all', 0.5)).toEqual([])
  })
})
