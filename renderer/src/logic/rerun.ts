/**
 * "Run again": a new job with a finished (often failed) job's settings, as jobs.create takes
 * them. Everything the config says is sent again except what belongs to the old job alone:
 * its id, the checkpoint it resumed from, and the schema version the host fills in.
 */
import type { JobConfig } from '@shared/config'
import type { NewJobInput } from '@shared/jobs'
import { sectionMethods } from '@shared/methods'

/** `.../jobs/<id>/checkpoints/<name>` -> {jobId, checkpoint}; null for a folder elsewhere. */
export function checkpointOf(folder: string): { jobId: string; checkpoint: string } | null {
  const match = /[\\/]jobs[\\/]([^\\/]+)[\\/]checkpoints[\\/]([^\\/]+)[\\/]?$/.exec(folder)
  return match ? { jobId: match[1]!, checkpoint: match[2]! } : null
}

/** The create input that trains the same job again under a new id. */
export function rerunInput(config: JobConfig, name: string): NewJobInput {
  const { path, selftest, quantization } = config.model
  const from = config.initFrom === null ? null : checkpointOf(config.initFrom)
  return {
    name,
    method: config.method,
    model: selftest ? { selftest: true, quantization } : { path, quantization },
    dataset: config.dataset,
    lora: config.lora,
    training: config.training,
    // Every method's settings section (methods.ts), so a method's settings never fall back to defaults.
    ...Object.fromEntries(sectionMethods.map((method) => [method, config[method]])),
    ...(from ? { initFrom: { ...from, optimizer: config.initOptimizer } } : {}),
  }
}

/** "Qwen on alpaca (2)" after "Qwen on alpaca", "(3)" after "(2)". */
export function rerunName(name: string): string {
  const numbered = /^(.*) \((\d+)\)$/.exec(name)
  return numbered ? `${numbered[1]} (${Number(numbered[2]) + 1})` : `${name} (2)`
}
