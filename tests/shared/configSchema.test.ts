/**
 * What `npm run config-schema` writes from electron/shared: the trainer's config schema, its event
 * schemas and contract.py (config classes, method and format tables, field names), and the lists of
 * docs/architecture.md. This fails while a checked-in file is stale: run `npm run config-schema`
 * after changing the contract.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { expectedOf, jobConfigJsonSchema, labelOf, jobConfigSchema, sectionMethods, type JsonSchemaNode } from '@shared'
import { contractFiles } from '../../scripts/contract'
import { pythonLiteral, snakeCase } from '../../scripts/contract/python'
import { prettierText } from '../../scripts/prettierText.mjs'

const root = join(__dirname, '..', '..')
const read = (path: string): string => readFileSync(join(root, path), 'utf8')

describe('the files generated from the contract', () => {
  for (const file of contractFiles(read)) {
    it(`${file.path} is what the contract gives now (run npm run config-schema if not)`, async () => {
      // As config-schema writes it: laid out by Prettier, so npm test's format stage passes it.
      expect(read(file.path), `${file.path} is stale: run npm run config-schema`).toBe(await prettierText(file.path, file.text))
    })
  }

  it('marks each file generated, and the page lists every route and event', () => {
    const files = contractFiles(read)
    for (const file of files.filter((each) => !each.path.endsWith('.md')))
      expect(file.text, file.path).toContain('Generated from electron/shared by `npm run config-schema`')
    const page = files.find((file) => file.path === 'docs/architecture.md')!.text
    for (const name of [
      'jobs.gpu_history',
      'datasets.cancel_download',
      'chat.token',
      'models.progress',
      'datasets.preview_progress',
      'chat.done',
      'chat.status',
    ]) {
      expect(page).toContain(`\`${name}\``)
    }
  })

  it('writes Python literals and names as the trainer reads them', () => {
    expect(snakeCase('undesirableWeight')).toBe('undesirable_weight')
    expect([
      pythonLiteral(32, true),
      pythonLiteral(0.05, true),
      pythonLiteral(null),
      pythonLiteral(['q_proj']),
      pythonLiteral({ a: false }),
    ]).toEqual(['32.0', '0.05', 'None', '("q_proj",)', '{"a": False}'])
  })
})

describe('the trainer’s config schema', () => {
  it('gives every setting a label and its default, and says what it expects in words', () => {
    const schema = jobConfigJsonSchema()
    const sections = ['lora', 'training', ...sectionMethods] as const
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
