/**
 * GPU telemetry as the user sees it: on this machine (no NVIDIA GPU) a plain
 * reason and no made-up readings; a sample a second only while a job is live;
 * and nvidia-smi's own output read with its gaps kept as null.
 */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { gpuSampleSchema, type GpuSample } from '@shared/system'
import { GpuSampler } from '../../electron/host/gpu/sampler'
import { GpuTelemetry, parseNvidiaSmi, runNvidiaSmi } from '../../electron/host/gpu/telemetry'

function hasNvidiaSmi(): boolean {
  try {
    execFileSync('nvidia-smi', ['-L'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('GPU telemetry', () => {
  it.skipIf(hasNvidiaSmi())('says plainly that there is no NVIDIA GPU, with no readings', async () => {
    let runs = 0
    const telemetry = new GpuTelemetry(() => {
      runs += 1
      return runNvidiaSmi()
    })
    const sample = gpuSampleSchema.parse(await telemetry.sample())
    expect(sample.available).toBe(false)
    expect(sample.reason).toMatch(/^No NVIDIA GPU found: nvidia-smi is not available on this machine\.$/)
    expect(sample.gpus).toEqual([])
    // The answer is cached: a second sample does not look for nvidia-smi again, and says the same.
    const again = await telemetry.sample()
    expect(runs).toBe(1)
    expect(again.reason).toBe(sample.reason)
  })

  it('reads nvidia-smi CSV, keeping [N/A] as null and real zeros as zero', () => {
    const stdout = [
      '0, NVIDIA GeForce RTX 4090, 0, 1203, 24564, 41, 31.52',
      '1, NVIDIA RTX A6000, Ada, 97, 40960, 49140, [N/A], [Not Supported]',
      '',
    ].join('\n')
    const gpus = parseNvidiaSmi(stdout)
    expect(gpus).toEqual([
      {
        index: 0,
        name: 'NVIDIA GeForce RTX 4090',
        utilization: 0,
        memoryUsedMb: 1203,
        memoryTotalMb: 24564,
        temperatureC: 41,
        powerW: 31.52,
      },
      {
        index: 1,
        name: 'NVIDIA RTX A6000, Ada',
        utilization: 97,
        memoryUsedMb: 40960,
        memoryTotalMb: 49140,
        temperatureC: null,
        powerW: null,
      },
    ])
  })

  it('samples about once a second while a job is live, and stops after', async () => {
    const telemetry = new GpuTelemetry()
    const samples: GpuSample[] = []
    const sampler = new GpuSampler(
      () => telemetry.sample(),
      (sample) => samples.push(sample),
    )
    sampler.jobUpdated({ id: 'a', status: 'queued' })
    await sleep(1200)
    expect(samples).toHaveLength(0)

    sampler.jobUpdated({ id: 'a', status: 'starting' })
    sampler.jobUpdated({ id: 'b', status: 'running' })
    await sleep(3300)
    // One at once, then one a second: 4 in 3.3 s (allow a late timer on a busy machine).
    expect(samples.length).toBeGreaterThanOrEqual(3)
    expect(samples.length).toBeLessThanOrEqual(5)
    for (const sample of samples) expect(gpuSampleSchema.parse(sample).gpus).toEqual([])

    sampler.jobUpdated({ id: 'a', status: 'completed' })
    expect(sampler.sampling).toBe(true)
    sampler.jobUpdated({ id: 'b', status: 'paused' })
    expect(sampler.sampling).toBe(false)
    const count = samples.length
    await sleep(1500)
    expect(samples.length).toBe(count)
  })
})
