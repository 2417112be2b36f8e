/**
 * The trainer's copy of the contract, as Python source (contract.py): the config dataclasses
 * from config.json's JSON Schema, the fields left out of the config hash, the dataset formats
 * and field names, the method table and the protocol's constants. Pure: text in, text out.
 */
import { datasetFields, turnTagFields } from '../../electron/shared/datasets'
import type { JsonSchemaNode } from '../../electron/shared/fields'
import { datasetFormatTable, methodTable, methods } from '../../electron/shared/methods'
import { exitCodes, protocolVersion } from '../../electron/shared/protocol'

export const generatedLine = 'Generated from electron/shared by `npm run config-schema`; do not edit.'

/** camelCase (config.json) to snake_case (the dataclasses), as config.py's _attribute does: badRows -> bad_rows. */
export function snakeCase(key: string): string {
  return key.replace(/(?<!^)(?=[A-Z])/g, '_').toLowerCase()
}

const pascalCase = (key: string): string => key.charAt(0).toUpperCase() + key.slice(1)

/** A JSON value as a Python literal; lists become tuples (the dataclasses are frozen). */
export function pythonLiteral(value: unknown, float = false): string {
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'number') return float && Number.isInteger(value) ? `${value}.0` : String(value)
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value))
    return value.length === 1 ? `(${pythonLiteral(value[0])},)` : `(${value.map((item) => pythonLiteral(item)).join(', ')})`
  const entries = Object.entries(value as Record<string, unknown>).map(([key, item]) => `${JSON.stringify(key)}: ${pythonLiteral(item)}`)
  return `{${entries.join(', ')}}`
}

/** The Python type of a schema node, as the dataclasses hold its value (see config.py's _value). */
function pythonType(node: JsonSchemaNode, sectionClass?: string): string {
  if (sectionClass) return sectionClass
  if (node.anyOf) return [...new Set(node.anyOf.map((branch) => pythonType(branch)))].join(' | ')
  if (node.const !== undefined) return typeof node.const === 'string' ? 'str' : Number.isInteger(node.const) ? 'int' : 'float'
  switch (node.type) {
    case 'integer':
      return 'int'
    case 'number':
      return 'float'
    case 'boolean':
      return 'bool'
    case 'string':
      return 'str'
    case 'null':
      return 'None'
    case 'array':
      return `tuple[${node.items ? pythonType(node.items) : 'object'}, ...]`
    case 'object':
      // A record of strings (a column mapping), or an object of mixed fields (a mixed dataset, config.py fills its defaults).
      return node.properties ? 'dict[str, object]' : 'dict[str, str]'
    default:
      throw new Error(`config-schema: no Python type for ${JSON.stringify(node)}`)
  }
}

const isFloat = (node: JsonSchemaNode): boolean => node.type === 'number' || (node.anyOf ?? []).some((branch) => branch.type === 'number')
const isSection = (node: JsonSchemaNode): boolean => node.type === 'object' && node.properties !== undefined

/** One field of a dataclass: required ones first (no default), then the defaulted and optional ones. */
function fieldLines(schema: JsonSchemaNode, sectionClasses: Record<string, string>): string[] {
  const required = new Set(schema.required ?? [])
  const entries = Object.entries(schema.properties ?? {})
  const line = ([key, node]: [string, JsonSchemaNode]): string => {
    const name = snakeCase(key)
    const type = pythonType(node, sectionClasses[key])
    if (sectionClasses[key]) return required.has(key) ? `    ${name}: ${type}` : `    ${name}: ${type} = field(default_factory=${type})`
    if (node.default === undefined) return required.has(key) ? `    ${name}: ${type}` : `    ${name}: ${type} | None = None`
    if (typeof node.default === 'object' && node.default !== null && !Array.isArray(node.default))
      return `    ${name}: ${type} = field(default_factory=dict)`
    return `    ${name}: ${type} = ${pythonLiteral(node.default, isFloat(node))}`
  }
  const withoutDefault = entries.filter(([key, node]) => required.has(key) && node.default === undefined)
  return [...withoutDefault, ...entries.filter((entry) => !withoutDefault.includes(entry))].map(line)
}

/** A constant spread one item a line (short lines whatever the formatter's width). */
function constant(name: string, type: string, items: string[], brackets: '()' | '{}'): string {
  return [`${name}: ${type} = ${brackets[0]}`, ...items.map((item) => `    ${item},`), brackets[1]].join('\n')
}

function dataclass(name: string, doc: string, lines: string[]): string {
  return ['@dataclass(frozen=True)', `class ${name}:`, `    """${doc}"""`, '', ...lines].join('\n')
}

/** Dotted snake_case paths of the fields marked `hashed: false` in config.ts. */
function unhashedFields(schema: JsonSchemaNode): string[] {
  const found: string[] = []
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    if (node.hashed === false) found.push(snakeCase(key))
    if (isSection(node)) for (const inner of unhashedFields(node)) found.push(`${snakeCase(key)}.${inner}`)
  }
  return found
}

/** contract.py from config.json's JSON Schema (jobConfigJsonSchema) and the other tables of electron/shared. */
export function contractPython(config: JsonSchemaNode): string {
  const sections = Object.entries(config.properties ?? {}).filter(([, node]) => isSection(node))
  const sectionClasses = Object.fromEntries(sections.map(([key]) => [key, `${pascalCase(key)}Settings`]))
  const classes = sections.map(([key, node]) =>
    dataclass(sectionClasses[key]!, `\`\`${key}\`\`: ${node.label ?? key}.`, fieldLines(node, {})),
  )
  const methodEntries = methods.map((name) => {
    const entry = methodTable[name]
    const fields = [
      `label=${JSON.stringify(entry.label)}`,
      `formats=${pythonLiteral(entry.formats)}`,
      `reference=${pythonLiteral(entry.reference)}`,
      `section=${entry.settings === null ? 'None' : JSON.stringify(name)}`,
    ]
    return [`    ${JSON.stringify(name)}: MethodInfo(`, ...fields.map((item) => `        ${item},`), '    ),'].join('\n')
  })
  const formatEntries = Object.entries(datasetFormatTable).map(
    ([name, entry]) => `    ${JSON.stringify(name)}: ${JSON.stringify(entry.rows)},`,
  )
  return [
    `"""${generatedLine}`,
    '',
    'What the trainer shares with the host: the config classes (config.py validates and fills them), the',
    'fields left out of the config hash, the dataset formats and field names (data/), the training methods',
    '(methods/) and the protocol constants (protocol.py). Change electron/shared and run the command;',
    'tests/shared/configSchema.test.ts fails while this file is stale.',
    '"""',
    '',
    'from __future__ import annotations',
    '',
    'from dataclasses import dataclass, field',
    'from typing import NamedTuple',
    '',
    '',
    classes.join('\n\n\n'),
    '',
    '',
    dataclass(
      'JobConfigFields',
      'The whole config.json with every default filled in (config.JobConfig adds its hash).',
      fieldLines(config, sectionClasses),
    ),
    '',
    '',
    '# Each settings section of config.json and its class.',
    constant(
      'SECTIONS',
      'dict[str, type]',
      sections.map(([key]) => `${JSON.stringify(key)}: ${sectionClasses[key]}`),
      '{}',
    ),
    '# Fields that do not change what a run computes (hashed: false in config.ts): not in the config hash.',
    constant(
      'UNHASHED',
      'tuple[str, ...]',
      unhashedFields(config).map((name) => JSON.stringify(name)),
      '()',
    ),
    '',
    '',
    'class MethodInfo(NamedTuple):',
    '    """A training method (electron/shared/methods.ts); methods/<name>.py holds its code."""',
    '',
    '    label: str',
    '    formats: tuple[str, ...]  # the dataset formats it trains on',
    '    reference: bool  # whether its loss compares the policy with a frozen reference model',
    '    section: str | None  # its settings section of config.json',
    '',
    '',
    'METHODS: dict[str, MethodInfo] = {',
    ...methodEntries,
    '}',
    '',
    '',
    '# Dataset formats, in the order the form offers them (detection breaks ties by it),',
    '# and how a message names their rows.',
    'DATASET_FORMATS: dict[str, str] = {',
    ...formatEntries,
    '}',
    "# Our field names, which dataset.columns may map to the file's own column names.",
    constant(
      'FIELDS',
      'tuple[str, ...]',
      datasetFields.map((name) => JSON.stringify(name)),
      '()',
    ),
    '# Column-mapping entries that name keys and role tags inside conversation turns, not columns.',
    constant(
      'TAGS',
      'tuple[str, ...]',
      turnTagFields.map((name) => JSON.stringify(name)),
      '()',
    ),
    '',
    `PROTOCOL_VERSION = ${protocolVersion}`,
    `EXIT_CODES: dict[str, int] = ${pythonLiteral(exitCodes)}`,
    '',
  ].join('\n')
}
