/** What the Models page and the new-job picker show for a model, a fit and a download. */
import { describe, expect, it } from 'vitest'
import type { DownloadProgress, ModelFit, ModelSummary } from '@shared/models'
import { downloadLine, fitLabel, formatDuration, formatParameters, modelPathValue, pickerLabel } from '../../renderer/src/logic/models'
import { pageFromHash, hashFromPage } from '../../renderer/src/stores/navigation'

const model: ModelSummary = {
  path: '/cache/models--Qwen--Qwen2.5-0.5B-Instruct/snapshots/abc',
  hubId: 'Qwen/Qwen2.5-0.5B-Instruct',
  source: 'hub-cache',
  name: 'Qwen/Qwen2.5-0.5B-Instruct',
  architecture: 'Qwen2ForCausalLM',
  modelType: 'qwen2',
  parameters: 494_032_768,
  dtype: 'bf16',
  bytes: 988_097_824,
  chatTemplate: true,
  labelOnlyLoss: true,
  problems: [],
}

const fit: ModelFit = {
  freeMb: 8000,
  lora: { estimatedMb: 7800, verdict: 'tight', suggestion: 'training.gradientCheckpointing on' },
  qlora: { estimatedMb: 3000, verdict: 'fits', suggestion: null },
}

describe('models page text', () => {
  it('formats parameter counts and durations', () => {
    expect(formatParameters(494_032_768)).toBe('494M')
    expect(formatParameters(1_543_714_304)).toBe('1.5B')
    expect(formatParameters(201_408)).toBe('201K')
    expect(formatParameters(null)).toBe('unknown')
    expect(formatDuration(12.4)).toBe('12 s')
    expect(formatDuration(245)).toBe('4 min 05 s')
    expect(formatDuration(3780)).toBe('1 h 03 min')
    expect(formatDuration(null)).toBe('—')
  })

  it('describes a download in progress, cancelled and failed', () => {
    const base: DownloadProgress = {
      kind: 'model',
      hubId: 'a/b',
      state: 'downloading',
      doneBytes: 300 * 1024 * 1024,
      totalBytes: 900 * 1024 * 1024,
      bytesPerSecond: 20 * 1024 * 1024,
      secondsLeft: 30,
      path: null,
      error: null,
    }
    expect(downloadLine(base)).toBe('300 MB of 900 MB · 20 MB/s · 30 s left')
    expect(downloadLine({ ...base, state: 'cancelled' })).toBe('Cancelled at 300 MB of 900 MB; downloading again continues from there')
    expect(
      downloadLine({
        ...base,
        state: 'failed',
        error: { code: 'gated', message: 'a/b is gated: open https://huggingface.co/a/b', url: 'https://huggingface.co/a/b' },
      }),
    ).toBe('a/b is gated: open https://huggingface.co/a/b')
  })

  it('says whether LoRA and QLoRA fit, and with which setting', () => {
    expect(fitLabel('lora', fit)).toBe('LoRA 7.6 GB of 7.8 GB free: tight; fits with training.gradientCheckpointing on')
    expect(fitLabel('qlora', fit)).toBe('QLoRA 2.9 GB of 7.8 GB free: fits')
    expect(fitLabel('lora', { ...fit, freeMb: null, lora: { ...fit.lora, verdict: null } })).toBe('LoRA 7.6 GB (no GPU to compare)')
    const large = { ...fit, lora: { estimatedMb: 16 * 1024, verdict: 'no' as const, suggestion: null, fsdpGpus: 3 } }
    expect(fitLabel('lora', large)).toBe('LoRA 16 GB of 7.8 GB free: does not fit; needs FSDP across 3 GPUs')
  })

  it('fills model.path with the hub id of a cached model and the folder of any other', () => {
    expect(modelPathValue(model)).toBe('Qwen/Qwen2.5-0.5B-Instruct')
    expect(modelPathValue({ ...model, hubId: null, source: 'folder', path: '/models/mine' })).toBe('/models/mine')
    expect(pickerLabel(model, undefined, false)).toBe('Qwen/Qwen2.5-0.5B-Instruct · 494M · 942 MB')
    expect(pickerLabel(model, fit, false)).toBe('Qwen/Qwen2.5-0.5B-Instruct · 494M · 942 MB · tight')
    expect(pickerLabel(model, fit, true)).toBe('Qwen/Qwen2.5-0.5B-Instruct · 494M · 942 MB · fits (QLoRA)')
  })

  it('opens the Models page from its address', () => {
    expect(pageFromHash('#/models')).toEqual({ name: 'models' })
    expect(hashFromPage({ name: 'models' })).toBe('#/models')
  })
})
