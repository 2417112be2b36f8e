/**
 * Everything `npm run config-schema` writes from electron/shared (the contract), as text: what
 * both languages share is written once there and generated for the trainer and the docs.
 * tests/shared/configSchema.test.ts compares each file on disk with this and fails while one is stale.
 */
import { z } from 'zod'
import { jobConfigJsonSchema } from '../../electron/shared/config'
import { trainerEventSchema } from '../../electron/shared/protocol'
import { withDocLists } from './docs'
import { contractPython, generatedLine } from './python'

export interface GeneratedFile {
  /** Relative to the repository root, with forward slashes. */
  path: string
  text: string
}

const trainer = 'python-runtime/tunedeck_trainer'
export const architecturePage = 'docs/architecture.md'

/** One JSON Schema per trainer event type, for protocol.py's event_errors. */
export function protocolSchemas(): Record<string, unknown> {
  const schemas = Object.fromEntries(
    trainerEventSchema.options.map((option) => [
      option.shape.type.value,
      { title: `${option.shape.type.value} event`, ...z.toJSONSchema(option, { io: 'input' }) },
    ]),
  )
  return { $comment: generatedLine, events: schemas }
}

const json = (value: unknown): string => JSON.stringify(value, null, 2) + '\n'

/** The generated files; `read` gives a checked-in file's text (the architecture page's prose is kept). */
export function contractFiles(read: (path: string) => string): GeneratedFile[] {
  const config = jobConfigJsonSchema()
  return [
    { path: `${trainer}/job_config.schema.json`, text: json(config) },
    { path: `${trainer}/protocol.schema.json`, text: json(protocolSchemas()) },
    { path: `${trainer}/contract.py`, text: contractPython(config) },
    { path: architecturePage, text: withDocLists(read(architecturePage), architecturePage) },
  ]
}
