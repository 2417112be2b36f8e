/** The job report's lines as the job page shows them. */
import { describe, expect, it } from 'vitest'
import { datasetLine, memoryLine, mfuText, oomLine } from '../../renderer/src/logic/report'

describe('the job report lines', () => {
  it('says how the data was read, with packing, held-out rows, skipped and truncated counts', () => {
    expect(datasetLine({ format: 'sharegpt', examples: 1200, skipped: 3, truncated: 1, validationExamples: 100, packedRows: 240 })).toBe(
      'Read as ShareGPT: 1,200 examples in 240 packed rows, 100 held out; 3 rows skipped, 1 example truncated to the maximum length.',
    )
    expect(datasetLine({ format: 'alpaca', examples: 1, skipped: 0, truncated: 0, validationExamples: 0, packedRows: null })).toBe(
      'Read as Alpaca: 1 example.',
    )
  })

  it('warns when the estimate is above the free GPU memory, and without a GPU says it trains on the CPU', () => {
    const tight = memoryLine({ estimatedMb: 14336, freeMb: 10240, fits: false, detail: {} })
    expect(tight.warning).toBe(true)
    expect(tight.text).toContain('Needs about 14.0 GB but the GPU has 10.0 GB free')
    expect(memoryLine({ estimatedMb: 2048, freeMb: 20480, fits: true, detail: {} })).toEqual({
      text: 'Needs about 2.0 GB of the 20.0 GB free on the GPU.',
      warning: false,
    })
    // No CUDA device: the estimate is what training on the CPU needs here, never shown as a GPU requirement.
    const cpu = memoryLine({ estimatedMb: 3.2, freeMb: null, fits: null, detail: {} })
    expect(cpu).toEqual({ text: 'Training on the CPU (no GPU here): needs about 3 MB of memory.', warning: false })
    expect(cpu.text).not.toMatch(/GPU memory/)
    expect(memoryLine({ estimatedMb: 20480, freeMb: null, fits: null, detail: {} }).text).toBe(
      'Training on the CPU (no GPU here): needs about 20.0 GB of memory.',
    )
  })

  it('says per GPU with several ranks, which layout they use and what the fit check found', () => {
    const sharded = {
      estimatedMb: 9216,
      freeMb: 10240,
      fits: true,
      detail: {},
      ranks: 4,
      sharding: 'fsdp',
      placement: 'needs FSDP across 4 GPUs',
    }
    expect(memoryLine(sharded)).toEqual({
      text: 'Each of 4 ranks (FSDP): needs about 9.0 GB of the 10.0 GB free on the GPU. The fit check: needs FSDP across 4 GPUs.',
      warning: false,
    })
    const replicated = { ...sharded, estimatedMb: 14336, fits: false, sharding: 'ddp' }
    expect(memoryLine(replicated).warning).toBe(true)
    expect(memoryLine(replicated).text).toMatch(/^Each of 4 ranks \(DDP\): needs about 14\.0 GB but the GPU has 10\.0 GB free/)
  })

  it('describes an out-of-memory retry and the MFU with how it is counted', () => {
    expect(oomLine({ step: 7, batchSize: 8, maxSeqLength: 1024, retry: true, newBatchSize: 4, newGradientAccumulation: 4, time: 0 })).toBe(
      'Out of GPU memory in step 7 at 8 rows × 1024 tokens; retried with micro-batches of 4 and gradient accumulation 4 (same effective batch).',
    )
    expect(
      oomLine({ step: 2, batchSize: 1, maxSeqLength: 512, retry: false, newBatchSize: null, newGradientAccumulation: null, time: 0 }),
    ).toContain('not retried')
    expect(mfuText(0.3821)).toEqual({ value: '38.2%', note: expect.stringContaining('4N FLOPs per token') })
    expect(mfuText(0.3, 'dpo').note).toContain('6N FLOPs per token')
    expect(mfuText(0.3, 'kto').note).toContain('6N FLOPs per token')
    expect(mfuText(null).value).toBe('—')
  })
})
