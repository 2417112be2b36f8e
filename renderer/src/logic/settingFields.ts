/**
 * The settings the new-job form shows, one entry each. An entry says only
 * where the field goes and how it behaves in the form; its label, type,
 * range, default and choices come from the config schema
 * (electron/shared/config.ts), so showing one more setting is one line here.
 */
import { jobConfigJsonSchema } from '@shared/config'
import { methodTable, sectionMethods, type Method } from '@shared/methods'
import type { JsonSchemaNode } from '@shared/fields'

/** One setting of the form. */
export interface SettingField {
  /** Its place in config.json, which is also its key in the form and in the host's field errors. */
  path: string
  testId: string
  /** The main grid ("LoRA and training") or the collapsed Advanced section. */
  place: 'main' | 'advanced'
  hint?: string
  /** Fixed by the checkpoint a job starts from: shown locked and not sent. */
  fromCheckpoint?: boolean
  /** Shown and sent only for this method. */
  method?: Method
  /** Words for an enum's values, in the order shown. */
  options?: Record<string, string>
  /** A true/false setting as a select whose first choice is "the preset's or the default", rather than a checkbox. */
  tristate?: boolean
}

let schema: JsonSchemaNode | undefined

/** Every field of each method's settings section (methods.ts), shown in Advanced for that method only, its hint the schema's description. */
function methodSettingFields(): SettingField[] {
  return sectionMethods.flatMap((method) =>
    Object.keys(methodTable[method].settings.shape).map((key) => ({
      path: `${method}.${key}`,
      testId: `${method}-${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`,
      place: 'advanced' as const,
      method,
      hint: nodeAt(`${method}.${key}`).description as string | undefined,
    })),
  )
}

export const settingFields: readonly SettingField[] = [
  { path: 'lora.rank', testId: 'lora-rank', place: 'main', fromCheckpoint: true },
  { path: 'lora.alpha', testId: 'lora-alpha', place: 'main', fromCheckpoint: true },
  { path: 'training.learningRate', testId: 'learning-rate', place: 'main' },
  { path: 'training.epochs', testId: 'epochs', place: 'main' },
  { path: 'training.batchSize', testId: 'batch-size', place: 'main' },
  { path: 'training.maxSeqLength', testId: 'max-seq-length', place: 'main' },
  { path: 'training.checkpointEvery', testId: 'checkpoint-every', place: 'main', hint: '0: only on pause and on request.' },
  { path: 'training.keepCheckpoints', testId: 'keep-checkpoints', place: 'main' },
  { path: 'training.gradientAccumulation', testId: 'gradient-accumulation', place: 'advanced', hint: 'Micro-batches per optimizer step.' },
  {
    path: 'dataset.validationSplit',
    testId: 'validation-split',
    place: 'advanced',
    hint: 'Share of rows held out for eval loss, 0 to 0.5.',
  },
  {
    path: 'dataset.textSplit',
    testId: 'text-split',
    place: 'advanced',
    hint: 'A plain .txt file: where each document ends.',
    options: {
      auto: 'Paragraphs if it has blank lines, else lines',
      line: 'One per line',
      paragraph: 'One per paragraph',
      file: 'The whole file',
    },
  },
  {
    path: 'dataset.csvHeader',
    testId: 'csv-header',
    place: 'advanced',
    hint: 'A .csv file: whether its first row names the columns.',
    options: { auto: 'Guess from the first row', yes: 'Yes: it names the columns', no: 'No: the first row is data' },
  },
  {
    path: 'dataset.badRows',
    testId: 'bad-rows',
    place: 'advanced',
    hint: 'A row that does not fit the format.',
    options: { fail: 'Fail the job', skip: 'Skip and count them' },
  },
  { path: 'training.packing', testId: 'packing', place: 'advanced', hint: 'Joins short examples into full-length rows.', tristate: true },
  { path: 'lora.dropout', testId: 'lora-dropout', place: 'advanced', fromCheckpoint: true },
  ...methodSettingFields(),
  {
    path: 'training.trainOnInputs',
    testId: 'train-on-inputs',
    place: 'advanced',
    hint: "Also learn the prompts' tokens, not only the answers.",
  },
  {
    path: 'lora.rslora',
    testId: 'rslora',
    place: 'advanced',
    fromCheckpoint: true,
    hint: 'Rank-stabilised scaling (alpha / √rank): helps at high ranks.',
  },
  {
    path: 'lora.dora',
    testId: 'dora',
    place: 'advanced',
    fromCheckpoint: true,
    hint: 'Weight-decomposed LoRA: sometimes better, slower to train.',
  },
]

/** What the schema says about a setting, as the form needs it. */
export interface SettingInfo {
  label: string
  kind: 'number' | 'boolean' | 'choice'
  /** The default, shown as the empty field's placeholder. */
  default: unknown
  /** An enum's values. */
  values: string[]
}

/** The schema node of a config path (lora.rank). */
function nodeAt(path: string): JsonSchemaNode {
  schema ??= jobConfigJsonSchema()
  let node: JsonSchemaNode | undefined = schema
  for (const key of path.split('.')) node = node?.properties?.[key]
  if (node === undefined) throw new Error(`settingFields: ${path} is not a field of config.json (electron/shared/config.ts)`)
  return node
}

/** A setting's label, kind, default and choices, from the config schema. */
export function settingInfo(path: string): SettingInfo {
  const node = nodeAt(path)
  const types = [node.type, ...(node.anyOf ?? []).map((branch) => branch.type)]
  const kind = node.enum ? 'choice' : types.includes('boolean') ? 'boolean' : 'number'
  return { label: node.label ?? path, kind, default: node.default, values: (node.enum ?? []).map(String) }
}

/** The settings shown for a method and place. */
export function shownSettings(place: SettingField['place'], method: Method): SettingField[] {
  return settingFields.filter((field) => field.place === place && (field.method === undefined || field.method === method))
}
