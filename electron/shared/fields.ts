/**
 * What a settings field is, read from its zod schema: its label (`.meta({ label })`),
 * and what it expects, in words ("a whole number from 1 to 1024"). The same words
 * reach the trainer: scripts/config-schema.mjs writes them into the JSON Schema it
 * validates config.json against, as each field's `expected`.
 */
import { z } from 'zod'

/** The metadata a settings field carries; `label` names it to a person, `expected` overrides the derived words. */
export interface FieldMeta {
  label?: string
  expected?: string
  /** false: left out of the config hash (config.ts). */
  hashed?: false
}

/** A JSON Schema node as z.toJSONSchema writes it (the keywords read here). */
export interface JsonSchemaNode {
  type?: string
  label?: string
  expected?: string
  default?: unknown
  const?: unknown
  enum?: unknown[]
  anyOf?: JsonSchemaNode[]
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  items?: JsonSchemaNode
  properties?: Record<string, JsonSchemaNode>
  additionalProperties?: JsonSchemaNode | boolean
  required?: string[]
  [keyword: string]: unknown
}

// z.int() writes the safe-integer bounds; they are no limit a person needs to hear about.
const safeInteger = Number.MAX_SAFE_INTEGER

function bounds(node: JsonSchemaNode): string {
  const lower = node.exclusiveMinimum ?? node.minimum
  const upper = node.maximum ?? node.exclusiveMaximum
  const low = lower !== undefined && Math.abs(lower) < safeInteger ? lower : undefined
  const high = upper !== undefined && Math.abs(upper) < safeInteger ? upper : undefined
  const above = node.exclusiveMinimum !== undefined
  if (low !== undefined && high !== undefined) return above ? ` above ${low} and at most ${high}` : ` from ${low} to ${high}`
  if (low !== undefined) return above ? ` above ${low}` : ` of at least ${low}`
  if (high !== undefined) return ` of at most ${high}`
  return ''
}

/** What a JSON Schema node accepts, in words: "a whole number from 1 to 1024", "one of \"fail\", \"skip\"". */
export function expectedOf(node: JsonSchemaNode): string {
  if (typeof node.expected === 'string') return node.expected
  if (node.anyOf) return node.anyOf.map(expectedOf).join(' or ')
  if ('const' in node) return JSON.stringify(node.const)
  if (node.enum) return `one of ${node.enum.map((value) => JSON.stringify(value)).join(', ')}`
  switch (node.type) {
    case 'integer':
      return `a whole number${bounds(node)}`
    case 'number':
      return `a number${bounds(node)}`
    case 'boolean':
      return 'true or false'
    case 'null':
      return 'null'
    case 'string':
      if (node.maxLength !== undefined) return `text of at most ${node.maxLength} characters`
      return (node.minLength ?? 0) > 0 ? 'non-empty text' : 'text'
    case 'array':
      return `a ${(node.minItems ?? 0) > 0 ? 'non-empty ' : ''}list${node.items ? ` of ${expectedOf(node.items)}` : ''}`
    case 'object':
      return typeof node.additionalProperties === 'object'
        ? `an object whose values are ${expectedOf(node.additionalProperties)}`
        : 'an object'
  }
  return 'a valid value'
}

/**
 * Writes `expected` into every node of a JSON Schema, so a reader in another
 * language (the trainer) says what a field takes in the same words.
 */
export function withExpectations(node: JsonSchemaNode): JsonSchemaNode {
  const annotated: JsonSchemaNode = { ...node }
  if (node.properties)
    annotated.properties = Object.fromEntries(Object.entries(node.properties).map(([key, child]) => [key, withExpectations(child)]))
  if (node.items) annotated.items = withExpectations(node.items)
  if (node.anyOf) annotated.anyOf = node.anyOf.map(withExpectations)
  if (typeof node.additionalProperties === 'object') annotated.additionalProperties = withExpectations(node.additionalProperties)
  if (typeof annotated.expected !== 'string') annotated.expected = expectedOf(node)
  return annotated
}

/**
 * The field of `root` at `path` (through optional, default and nullable wrappers),
 * and its label: its own, or that of the nearest field around it that has one
 * (lora.targetModules.1 is told as "LoRA target modules").
 */
export function fieldAt(root: z.ZodType, path: ReadonlyArray<PropertyKey>): { schema: z.ZodType; label?: string } | undefined {
  let schema: z.ZodType = root
  let label: string | undefined
  const peel = (): void => {
    let own: string | undefined
    for (;;) {
      own ??= (schema.meta() as FieldMeta | undefined)?.label
      if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable)
        schema = schema.unwrap() as z.ZodType
      else break
    }
    label = own ?? label
  }
  peel()
  for (const key of path) {
    if (schema instanceof z.ZodObject) {
      const child = (schema.shape as Record<string, z.ZodType>)[String(key)]
      if (child === undefined) return undefined
      schema = child
    } else if (schema instanceof z.ZodArray) {
      schema = schema.element as z.ZodType
    } else if (schema instanceof z.ZodRecord) {
      schema = schema.valueType as z.ZodType
    } else if (schema instanceof z.ZodUnion) {
      const next = (schema.options as z.ZodType[]).map((option) => fieldAt(option, [key])).find((found) => found !== undefined)
      if (next === undefined) return undefined
      schema = next.schema
      label = next.label ?? label
    } else {
      return undefined
    }
    peel()
  }
  return { schema, label }
}

/** The label of the field at a dotted path, or the path itself when the field has none. */
export function labelOf(root: z.ZodType, dotted: string): string {
  return fieldAt(root, dotted === '' ? [] : dotted.split('.'))?.label ?? dotted
}

/** What the field of `root` at `path` accepts, in words. */
export function expectedAt(root: z.ZodType, path: ReadonlyArray<PropertyKey>): string | undefined {
  const field = fieldAt(root, path)
  if (field === undefined) return undefined
  const expected = (field.schema.meta() as FieldMeta | undefined)?.expected
  if (expected !== undefined) return expected
  try {
    return expectedOf(z.toJSONSchema(field.schema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode)
  } catch {
    return undefined
  }
}

/** A value as a message shows it: JSON, shortened. */
export function shownValue(value: unknown): string {
  if (value === undefined) return 'nothing'
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value)
  return text.length <= 60 ? text : `${text.slice(0, 57)}...`
}

/** A zod issue as the validation code sees it. */
export interface Issue {
  path: ReadonlyArray<PropertyKey>
  message: string
  code?: string
  keys?: ReadonlyArray<string>
  input?: unknown
}

/**
 * One issue, keyed by the dotted path of the field it is about (an unknown key
 * by itself, as the trainer names it) with a message that names the field by
 * its label: "LoRA rank: expected a whole number from 1 to 1024, got 0".
 * Fields without a label keep zod's message and `labelled` is false.
 */
export function describeIssue(root: z.ZodType, issue: Issue): { key: string; message: string; labelled: boolean } {
  const unknownKey = issue.code === 'unrecognized_keys' && issue.keys?.[0] !== undefined ? issue.keys[0] : undefined
  const path = unknownKey !== undefined ? [...issue.path, unknownKey] : issue.path
  const key = path.map(String).join('.') || '(root)'
  const label = fieldAt(root, issue.path)?.label
  if (label === undefined) return { key, message: issue.message, labelled: false }
  if (unknownKey !== undefined) return { key, message: `${label}: "${unknownKey}" is not a setting; remove it`, labelled: true }
  if (issue.code === 'custom') return { key, message: `${label}: ${issue.message}`, labelled: true }
  const missing = issue.code === 'invalid_type' && ('input' in issue ? issue.input === undefined : /received undefined/.test(issue.message))
  if (missing) return { key, message: `${label}: required`, labelled: true }
  const expected = expectedAt(root, issue.path)
  if (expected === undefined) return { key, message: `${label}: ${issue.message}`, labelled: true }
  const got = 'input' in issue ? `, got ${shownValue(issue.input)}` : ''
  return { key, message: `${label}: expected ${expected}${got}`, labelled: true }
}
