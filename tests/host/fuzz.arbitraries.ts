/**
 * fast-check arbitraries for the route fuzzer: values that follow a route's input schema (read
 * from its JSON Schema, so a new route or field is fuzzed without a change here), hostile values
 * (wrong types, huge strings, deep nesting, Object.prototype's names as keys, odd Unicode, paths
 * inside and outside the allowed folders), and inputs that mix the two: a valid input with one
 * field made hostile is the one most likely to get past the schema into a handler.
 */
import fc from 'fast-check'
import { z } from 'zod'
import { routes, type RouteName } from '@shared/routes'

/** A JSON Schema node as z.toJSONSchema writes it, the keys the routes use. */
interface JsonSchema {
  type?: string | string[]
  const?: unknown
  enum?: unknown[]
  anyOf?: JsonSchema[]
  allOf?: JsonSchema[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: JsonSchema | boolean
  items?: JsonSchema
  minLength?: number
  maxLength?: number
  pattern?: string
  format?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  minItems?: number
  maxItems?: number
}

/** Paths and strings that a path field may be given: allowed, outside, traversal, special files. */
export interface FuzzPaths {
  /** Real files and folders inside the allowed folders (a dataset, a FIFO, a folder). */
  inside: string[]
  /** Files outside them. */
  outside: string[]
}

const prototypeNames = [...new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__'])]

/** Strings that broke parsers elsewhere: bidi overrides, BOM, lone surrogates, NUL, combining marks, very long graphemes. */
const oddStrings = [
  '\u202e\u0000evil',
  '\uFEFF',
  '\uD800',
  '\uDFFF\uD800',
  'a\u0301\u0301\u0301',
  '👩‍👩‍👧‍👦'.repeat(50),
  '\u0000',
  '\r\n\u001b[2J\u0007',
  '%00',
  '%2e%2e%2f',
  'NaN',
  '-0',
  '1e309',
  '__proto__',
  'constructor',
  'prototype',
  '$where',
  '{{7*7}}',
  '${process.exit()}',
  "'; DROP TABLE jobs; --",
]

const hostilePaths = [
  '/',
  '/etc/passwd',
  '/dev/zero',
  '/dev/random',
  '/proc/self/environ',
  '../../../../etc/passwd',
  '..',
  '.',
  '~',
  'C:\\Windows\\win.ini',
  '\\\\server\\share',
  'file:///etc/passwd',
  'http://127.0.0.1:1/x.jsonl',
  'https://169.254.169.254/latest/meta-data/x.jsonl',
  'a\u0000b',
  ' ',
  '/tmp/../etc/passwd',
]

/** A JSON value nested `depth` deep, as arrays or objects. */
function nested(depth: number, asObject: boolean): unknown {
  let value: unknown = 'bottom'
  for (let index = 0; index < depth; index += 1) value = asObject ? { a: value } : [value]
  return value
}

/** An object whose own keys are Object.prototype's names (fromEntries makes "__proto__" an own key, as JSON.parse does). */
function prototypeKeyed(value: unknown): Record<string, unknown> {
  return Object.fromEntries(prototypeNames.map((name) => [name, value]))
}

/** A value of any wrong shape. */
export function hostileValue(paths: FuzzPaths): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom<unknown>(null, true, false, 0, -1, -0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, 0.5, '', [], {}),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.constantFrom(...oddStrings, ...prototypeNames),
    fc.constantFrom(...hostilePaths, ...paths.inside, ...paths.outside),
    // Huge strings: past the routes' max lengths, short of the 1 MiB message limit.
    fc.integer({ min: 1_000, max: 400_000 }).map((length) => 'x'.repeat(length)),
    fc.tuple(fc.integer({ min: 50, max: 3_000 }), fc.boolean()).map(([depth, asObject]) => nested(depth, asObject)),
    fc.constant(prototypeKeyed({})),
    fc.constant(prototypeKeyed('constructor')),
    fc.jsonValue({ maxDepth: 3 }),
    fc.array(fc.string(), { maxLength: 2_000 }),
  )
}

/** Values that follow `schema`; path-like fields (by name) draw from `paths` too. */
function fromSchema(schema: JsonSchema, paths: FuzzPaths, field = ''): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const)
  if (schema.enum) return fc.constantFrom(...schema.enum)
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((option) => fromSchema(option, paths, field)))
  if (schema.allOf) return fromSchema(Object.assign({}, ...schema.allOf) as JsonSchema, paths, field)
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'string':
      return stringFor(schema, paths, field)
    case 'integer':
      return fc.integer({
        min: Math.max(schema.minimum ?? -(2 ** 31), Number.MIN_SAFE_INTEGER),
        max: Math.min(schema.maximum ?? 2 ** 31, Number.MAX_SAFE_INTEGER),
      })
    case 'number':
      return fc.double({
        min: schema.minimum ?? schema.exclusiveMinimum ?? -1e9,
        max: schema.maximum ?? 1e9,
        noNaN: true,
        noDefaultInfinity: true,
      })
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array':
      return fc.array(schema.items ? fromSchema(schema.items, paths, field) : fc.jsonValue({ maxDepth: 1 }), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, Math.max(4, schema.minItems ?? 0)),
      })
    case 'object':
      return objectFor(schema, paths)
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

/**
 * Web addresses whose host is a loopback literal: a fuzzed download must never look a name up
 * or reach past this machine (tests send traffic only to loopback), so no fc.webUrl() hosts.
 */
const loopbackUrl = fc
  .tuple(
    fc.constantFrom('http', 'https'),
    fc.constantFrom('127.0.0.1', '127.0.0.2', '[::1]'),
    fc.integer({ min: 1, max: 65535 }),
    fc.webPath(),
    fc.webQueryParameters(),
  )
  .map(([scheme, host, port, path, query]) => `${scheme}://${host}:${port}${path}${query === '' ? '' : `?${query}`}`)

function stringFor(schema: JsonSchema, paths: FuzzPaths, field: string): fc.Arbitrary<string> {
  const length = { minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 200) }
  if (/path|destination|folder/i.test(field)) return fc.constantFrom(...paths.inside, ...paths.outside, ...hostilePaths)
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter((text) => text.length <= (schema.maxLength ?? Infinity))
  if (schema.format === 'uri' || /url/i.test(field))
    return fc.oneof(
      loopbackUrl,
      fc.constantFrom('http://127.0.0.1:9/a.jsonl', 'http://10.0.0.1/a.jsonl', 'http://[::1]/a.jsonl', 'ftp://127.0.0.1/a.jsonl'),
    )
  return fc.oneof(
    fc.string(length),
    fc.constantFrom(...oddStrings.filter((text) => text.length >= length.minLength && text.length <= length.maxLength)),
  )
}

function objectFor(schema: JsonSchema, paths: FuzzPaths): fc.Arbitrary<unknown> {
  const properties = Object.entries(schema.properties ?? {})
  const extra =
    typeof schema.additionalProperties === 'object'
      ? fc.dictionary(fc.string({ maxLength: 12 }), fromSchema(schema.additionalProperties, paths), { maxKeys: 3 })
      : fc.constant({})
  if (properties.length === 0) return extra
  const record = fc.record(Object.fromEntries(properties.map(([name, property]) => [name, fromSchema(property, paths, name)])), {
    requiredKeys: schema.required ?? [],
  })
  return fc.tuple(record, extra).map(([known, more]) => ({ ...more, ...known }))
}

/** The route's input as JSON Schema (transforms and the like become "any"). */
function inputSchema(route: RouteName): JsonSchema {
  return z.toJSONSchema(routes[route].input, { io: 'input', unrepresentable: 'any' }) as JsonSchema
}

/** Replaces one field (at any depth of plain objects) of `value` by `replacement`, chosen by `pick`. */
function replaceField(value: unknown, pick: number, replacement: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return replacement
  const keys = Object.keys(value)
  if (keys.length === 0) return { [String(pick)]: replacement }
  const key = keys[pick % keys.length] as string
  const inner = (value as Record<string, unknown>)[key]
  const deeper = typeof inner === 'object' && inner !== null && !Array.isArray(inner) && pick % 3 === 0
  return { ...value, [key]: deeper ? replaceField(inner, Math.floor(pick / 3), replacement) : replacement }
}

/** One input for `route`: valid by its schema, valid with one field hostile, valid plus prototype keys, or wholly hostile. */
export function routeInput(route: RouteName, paths: FuzzPaths): fc.Arbitrary<unknown> {
  const valid = fromSchema(inputSchema(route), paths)
  return fc.oneof(
    valid,
    fc.tuple(valid, fc.nat(), hostileValue(paths)).map(([input, pick, replacement]) => replaceField(input, pick, replacement)),
    valid.map((input) => (typeof input === 'object' && input !== null ? { ...prototypeKeyed({ polluted: true }), ...input } : input)),
    hostileValue(paths),
  )
}
