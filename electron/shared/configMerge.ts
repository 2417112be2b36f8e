/**
 * Which value wins in a new job's config.json, in one place: the defaults of
 * config.ts, then the self-test's own settings (resources/selftest/job.json) for
 * a self-test job, then the preset's, then the user's, then what a checkpoint
 * the job starts from fixes (its base model and LoRA shape). Pure: the host
 * reads the files and checks the paths, this only layers what it found.
 */
import { configVersion, jobConfigSchema, settingSections, type JobSettings, type LoraConfig, type SettingSection } from './config'
import { sectionMethods } from './methods'

/** Everything a new job's config is made of, lowest layer first. */
export interface ConfigLayers {
  jobId: string
  /** The model the job trains, as the host resolved it (an absolute folder or a hub id). */
  model: { path: string; selftest: boolean }
  /** The dataset, as the host resolved it. */
  datasetPath: string
  /** The self-test's own settings, for a self-test job. */
  selftest?: JobSettings
  preset?: JobSettings
  user: JobSettings
  /** A checkpoint of another job to start from: its folder, the model its adapter fits and the adapter's shape. */
  checkpoint?: { folder: string; model: { path: string; selftest: boolean }; lora: Partial<LoraConfig>; optimizer?: boolean }
}

/** The entries of `values` that are set: a layer that leaves a field out keeps the layer below. */
function definedOnly(values: object | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values ?? {}).filter(([, value]) => value !== undefined))
}

/**
 * The layers merged into one config.json, parsed with the schema (defaults
 * filled in). Each section is merged field by field; a field's value (a list
 * of target modules, a column mapping) is replaced whole. Two rules beyond
 * "the higher layer wins":
 * - 4-bit loading turns gradient checkpointing on, unless a layer (the preset
 *   or the user) set it: it exists to fit a model that would not fit otherwise.
 * - A checkpoint's model and LoRA shape win over every layer: its weights fit nothing else.
 */
export function mergeJobConfig(layers: ConfigLayers) {
  const ordered = [layers.selftest, layers.preset, layers.user].filter((layer): layer is JobSettings => layer !== undefined)
  const section = (name: SettingSection): Record<string, unknown> => Object.assign({}, ...ordered.map((layer) => definedOnly(layer[name])))
  const merged = Object.fromEntries(settingSections.map((name) => [name, section(name)])) as Record<SettingSection, Record<string, unknown>>
  const method =
    ordered
      .map((layer) => layer.method)
      .filter((value) => value !== undefined)
      .at(-1) ?? 'sft'

  const { checkpoint } = layers
  const model: Record<string, unknown> = { ...merged.model, ...(checkpoint?.model ?? layers.model) }
  if (model.quantization === '4bit' && merged.training.gradientCheckpointing === undefined) merged.training.gradientCheckpointing = true
  const candidate = {
    version: configVersion,
    jobId: layers.jobId,
    method,
    model,
    dataset: { ...merged.dataset, path: layers.datasetPath },
    lora: { ...merged.lora, ...definedOnly(checkpoint?.lora) },
    training: merged.training,
    // Each method's own section (methods.ts), merged as every other section is.
    ...Object.fromEntries(sectionMethods.map((name) => [name, merged[name]])),
    resumeFrom: null,
    initFrom: checkpoint?.folder ?? null,
    initOptimizer: checkpoint?.optimizer === true,
  }
  return jobConfigSchema.safeParse(candidate, { reportInput: true })
}

/**
 * The self-test's settings as a layer: its bundled file's dataset settings (alpaca) are left
 * out when the user chose another dataset, which must not be forced into that format.
 */
export function selftestLayer(settings: JobSettings, ownDataset: boolean): JobSettings {
  return ownDataset ? { ...settings, dataset: undefined } : settings
}
