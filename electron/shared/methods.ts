/**
 * What trains on what, in one place: the dataset formats (their names in the form and the words
 * a message uses for their rows) and the training methods (their label, the formats they train
 * on, whether they run a frozen reference model, and their own settings section of config.json).
 *
 * Everything else follows from these two tables: config.ts adds each method's settings section
 * to the job config, configMerge.ts and the form's "run again" carry them, the form lists the
 * methods and their settings, and `npm run config-schema` writes the trainer's copy
 * (python-runtime/tunedeck_trainer/contract.py), where methods/<name>.py registers the method's
 * code under the same name. Adding a method is one entry here and one module there.
 */
import { z } from 'zod'

/** Dataset formats, in the order the form offers them; `rows` is how a message names such rows. */
export const datasetFormatTable = {
  auto: { label: 'Detect from the file', rows: 'rows of a format detected from the file' },
  alpaca: { label: 'Alpaca (instruction / input / output)', rows: 'instructions (instruction, input and output)' },
  sharegpt: { label: 'ShareGPT (conversations)', rows: 'conversations' },
  openai: { label: 'OpenAI messages', rows: 'conversations' },
  prompt_completion: { label: 'Prompt / completion', rows: 'prompts with their completions' },
  text: { label: 'Plain text', rows: 'plain text' },
  preference: { label: 'Preference pairs (prompt / chosen / rejected)', rows: 'preference pairs (prompt, chosen and rejected)' },
  /** Unpaired feedback: a prompt, a completion and a boolean label (desirable or not). */
  feedback: { label: 'Feedback (prompt / completion / label)', rows: 'feedback rows (prompt, completion and a true/false label)' },
} as const satisfies Record<string, { label: string; rows: string }>

export type DatasetFormat = keyof typeof datasetFormatTable

export const datasetFormats = Object.keys(datasetFormatTable) as [DatasetFormat, ...DatasetFormat[]]

/** A training method as the table declares it. */
export interface MethodEntry {
  /** Its name in the form. */
  label: string
  /** What it needs, shown under the method field. */
  hint: string
  /** The formats it trains on ("auto" resolves to one of them). */
  formats: readonly Exclude<DatasetFormat, 'auto'>[]
  /** Whether its loss compares the policy with a frozen reference model (6N FLOPs per token rather than 4N). */
  reference: boolean
  /** Its own settings section of config.json, under the method's name; null for none. */
  settings: z.ZodObject | null
}

/** Strength of a preference method's pull, as TRL names it (beta). */
const beta = (label: string, description: string) => z.number().positive().max(10).meta({ label, description }).default(0.1)

/** The training methods, in the order the form offers them. */
export const methodTable = {
  sft: {
    label: 'Supervised fine-tune',
    hint: 'Learns to produce the answers in the data.',
    formats: ['alpaca', 'sharegpt', 'openai', 'prompt_completion', 'text'],
    reference: false,
    settings: null,
  },
  dpo: {
    label: 'Preference (DPO)',
    hint: 'Needs preference pairs: prompt, chosen and rejected.',
    formats: ['preference'],
    reference: true,
    settings: z
      .strictObject({
        /** The reference is the initFrom adapter, frozen, or else the base with the adapter disabled. */
        beta: beta('DPO beta', 'Pull towards the base model; higher stays closer.'),
      })
      .meta({ label: 'DPO settings' }),
  },
  kto: {
    label: 'Feedback (KTO)',
    hint: 'Needs feedback rows: prompt, completion and a desirable or undesirable label.',
    formats: ['feedback'],
    reference: true,
    settings: z
      .strictObject({
        beta: beta('KTO beta', 'Pull towards the base model; higher stays closer.'),
        desirableWeight: z
          .number()
          .positive()
          .max(100)
          .meta({ label: 'Desirable weight', description: 'Weight of the rows labelled desirable.' })
          .default(1),
        undesirableWeight: z
          .number()
          .positive()
          .max(100)
          .meta({ label: 'Undesirable weight', description: 'Weight of the rows labelled undesirable.' })
          .default(1),
      })
      .meta({ label: 'KTO settings' }),
  },
  orpo: {
    label: 'Preference without a reference (ORPO)',
    hint: 'Needs preference pairs: learns the chosen answers and to prefer them, with no reference model.',
    formats: ['preference'],
    reference: false,
    settings: z
      .strictObject({
        /** TRL's beta (the paper's lambda): the odds-ratio term's weight beside the chosen answers' cross entropy. */
        beta: beta('ORPO beta (lambda)', 'Weight of preferring the chosen answer, beside learning it.'),
      })
      .meta({ label: 'ORPO settings' }),
  },
} as const satisfies Record<string, MethodEntry>

export type MethodTable = typeof methodTable
export type Method = keyof MethodTable

export const methods = Object.keys(methodTable) as [Method, ...Method[]]

/** The methods with a settings section of their own, which is named after them. */
export type SectionMethod = { [Name in Method]: MethodTable[Name]['settings'] extends z.ZodObject ? Name : never }[Method]

export const sectionMethods = methods.filter((name): name is SectionMethod => methodTable[name].settings !== null)

/** The methods that train on `format`, in table order. */
export function methodsFor(format: string): Method[] {
  return methods.filter((name) => (methodTable[name].formats as readonly string[]).includes(format))
}

/**
 * The method a dataset's format fits (the first in the table that trains on it), when `chosen` does
 * not; null when it does, or for a format no method knows. `what` names the rows in a message.
 */
export function methodForFormat(format: string | null, chosen: Method): { method: Method; what: string } | null {
  if (format === null || !Object.hasOwn(datasetFormatTable, format)) return null
  if ((methodTable[chosen].formats as readonly string[]).includes(format)) return null
  const method = methodsFor(format)[0]
  return method === undefined ? null : { method, what: datasetFormatTable[format as DatasetFormat].rows }
}
