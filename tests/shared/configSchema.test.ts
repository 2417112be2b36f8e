/**
 * The trainer validates config.json against python-runtime/tunedeck_trainer/job_config.schema.json,
 * exported from electron/shared/config.ts. This fails while the checked-in file is stale:
 * run `npm run config-schema` after changing a field.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { expectedOf, jobConfigJsonSchema, labelOf, jobConfigSchema, type JsonSchemaNode } from '@shared'

const schemaFile = join(__dirname, '..', '..', 'python-runtime', 'tunedeck_trainer', 'job_config.schema.json')

describe('the trainer’s config schema', () => {
  it('is what config.ts exports now (run npm run config-schema if not)', () => {
    const written = readFileSync(schemaFile, 'utf8')
    expect(written, 'job_config.schema.json is stale: run npm run config-schema').toBe(JSON.stringify(jobConfigJsonSchema(), null, 2) + '\n')
  })

  it('gives every setting a label and its default, and says what it expects in words', () => {
    const schema = jobConfigJsonSchema()
    const sections = ['lora', 'training', 'dpo', 'kto'] as const
    for (const section of sections) {
      for (const [key, field] of Object.entries(schema.properties![section]!.properties!)) {
        expect(field.label, `${section}.${key}`).toEqual(expect.any(String))
        expect(field, `${section}.${key}`).toHaveProperty('default')
        expect(field.expected, `${section}.${key}`).toEqual(expect.any(String))
      }
    }
    expect(schema.properties!.training!.properties!.batchSize!.expected).toBe('a whole number from 1 to 1024')
    expect(labelOf(jobConfigSchema, 'training.batchSize')).toBe('Batch size')
  })
})

describe('expectedOf', () => {
  it('says what a JSON Schema node accepts', () => {
    const cases: Array<[JsonSchemaNode, string]> = [
      [{ type: 'integer', minimum: 1, maximum: 1024 }, 'a whole number from 1 to 1024'],
      [{ type: 'number', exclusiveMinimum: 0, maximum: 10 }, 'a number above 0 and at most 10'],
      [{ type: 'number', exclusiveMinimum: 0 }, 'a number above 0'],
      [{ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, 'a whole number of at least 0'],
      [{ type: 'number', maximum: 1 }, 'a number of at most 1'],
      [{ anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] }, 'a whole number of at least 1 or null'],
      [{ type: 'string', enum: ['fail', 'skip'] }, 'one of "fail", "skip"'],
      [{ type: 'number', const: 1 }, '1'],
      [{ type: 'boolean' }, 'true or false'],
      [{ type: 'string', minLength: 1 }, 'non-empty text'],
      [{ type: 'array', minItems: 1, items: { type: 'string' } }, 'a non-empty list of text'],
      [{ type: 'object', additionalProperties: { type: 'string' } }, 'an object whose values are text'],
      [{ type: 'integer', expected: 'a port number' }, 'a port number'],
    ]
    for (const [node, words] of cases) expect(expectedOf(node), JSON.stringify(node)).toBe(words)
  })
})
