/**
 * The adapter library: LoRA adapters kept apart from any job, made by combining adapters
 * (federated averaging) or by importing a zip, listed, exported and used to start a new job.
 */
import { z } from 'zod'
import { typedName } from './names'

/** serve's upload of an adapter zip from a browser: POST with the token, ?name=FILE.zip, the zip as the body. */
export const adapterUploadPath = '/upload/adapter'

/** How a combined adapter was made: every tensor averaged (same rank, approximate) or ranks stacked (exact). */
export const combineModes = ['average', 'exact'] as const

/** Shown beside each mode in the form. */
export const combineModeLabels: Record<(typeof combineModes)[number], string> = {
  average: 'Average (same rank, approximate)',
  exact: 'Exact (ranks add up)',
}

/** An adapter to combine: a completed job's adapter, one of its checkpoints, or a library adapter. */
export const adapterSourceSchema = z.union([
  z.strictObject({ jobId: z.string().min(1), checkpoint: z.string().min(1).nullable().default(null) }),
  z.strictObject({ adapterId: z.string().min(1) }),
])

export type AdapterSource = z.output<typeof adapterSourceSchema>

/** One adapter of the library, as adapter.json in its folder records it. */
export const libraryAdapterSchema = z.object({
  id: z.string(),
  name: z.string(),
  source: z.enum(['combined', 'imported']),
  /** The base model: a folder or hub id, as the adapter's config names it. */
  baseModel: z.string(),
  /** False when the base model is neither a folder on this machine nor in the local hub cache. */
  baseAvailable: z.boolean(),
  rank: z.int(),
  alpha: z.number(),
  targetModules: z.union([z.string(), z.array(z.string())]),
  dora: z.boolean(),
  rslora: z.boolean(),
  /** Training examples behind it: the weight it gets when combined. */
  examples: z.number(),
  /** False when no count was found (an import without one) and 1 stands in. */
  examplesKnown: z.boolean(),
  /** Combined adapters: what went in, each with its share of the weight, and the mode. */
  combined: z
    .object({
      mode: z.enum(combineModes),
      sources: z.array(z.object({ label: z.string(), examples: z.number(), weight: z.number() })),
    })
    .nullable(),
  created: z.string(),
  bytes: z.int(),
})

export type LibraryAdapter = z.infer<typeof libraryAdapterSchema>

export const combineRequestSchema = z.object({
  name: typedName().trim().min(1).max(120).meta({ label: 'Name' }),
  mode: z.enum(combineModes).meta({ label: 'Mode' }),
  sources: z.array(adapterSourceSchema).min(2).meta({ label: 'Adapters' }),
})

export const importRequestSchema = z.object({
  /** A zip: one exported by Tunedeck, or any zip holding adapter_config.json and adapter_model.safetensors. */
  path: z.string().min(1).meta({ label: 'Zip file' }),
  name: typedName().trim().min(1).max(120).optional(),
})

export const adapterExportRequestSchema = z.object({
  adapterId: z.string().min(1),
  /** A full path ending in .zip; <dataDir>/exports/<name>.zip when absent. */
  destination: z.string().min(1).optional(),
})

/** What must match between adapters to be combined (from each adapter_config.json), and the name a person knows each by. */
export const combineShapeSchema = z.object({
  /** The adapter's name as the page shows it: `job "Self-test"`, `library adapter "Both"`. */
  label: z.string(),
  baseModel: z.string(),
  rank: z.int(),
  alpha: z.number(),
  targetModules: z.union([z.string(), z.array(z.string())]),
  dora: z.boolean(),
  rslora: z.boolean(),
})

export type CombineShape = z.infer<typeof combineShapeSchema>

function shownValue(value: unknown): string {
  return Array.isArray(value) ? [...(value as string[])].sort().join(', ') : String(value)
}

/**
 * Why these adapters cannot be combined in `mode`, naming them by their labels; null when
 * they can. The page uses it to offer only what the host will do, and the host to refuse
 * before any weights are read (the trainer's combine checks the same on the tensors).
 */
export function combineProblem(mode: (typeof combineModes)[number], sources: readonly CombineShape[]): string | null {
  if (sources.length < 2) return 'Choose at least two adapters to combine.'
  const [first, ...others] = sources as [CombineShape, ...CombineShape[]]
  const fields: Array<[string, (shape: CombineShape) => unknown]> = [
    ['base model', (shape) => shape.baseModel],
    ['rank', (shape) => shape.rank],
    ['alpha', (shape) => shape.alpha],
    ['target modules', (shape) => shownValue(shape.targetModules)],
    ['DoRA', (shape) => (shape.dora ? 'on' : 'off')],
    ['rsLoRA', (shape) => (shape.rslora ? 'on' : 'off')],
  ]
  for (const other of others) {
    for (const [what, read] of fields) {
      if (read(other) === read(first)) continue
      const advice =
        what === 'rank' && mode === 'average'
          ? 'Average mode averages every tensor, so the ranks must be equal: pick adapters of one rank'
          : 'only adapters of the same base model and LoRA shape can be combined'
      const sentence = `${other.label} differs from ${first.label} in its ${what}: ${shownValue(read(other))} against ${shownValue(read(first))}; ${advice}.`
      return sentence.charAt(0).toUpperCase() + sentence.slice(1)
    }
  }
  if (mode === 'exact' && sources.some((shape) => shape.dora))
    return 'DoRA adapters cannot be combined exactly (their magnitudes normalise B·A): choose Average.'
  return null
}
