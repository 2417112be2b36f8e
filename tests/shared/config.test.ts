import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { jobConfigSchema, validationError } from '../../electron/shared'
import { fixtures, readJsonFolder } from './vectors'

describe('job config vectors', () => {
  const valid = readJsonFolder('config/valid')
  const invalid = readJsonFolder('config/invalid')
  const cases = JSON.parse(readFileSync(join(fixtures, 'config/invalid/cases.json'), 'utf8')) as Record<string, unknown>

  it('accepts every valid config and fills the same defaults the trainer uses', () => {
    expect(valid.length).toBeGreaterThan(0)
    for (const [name, config] of valid) {
      const result = jobConfigSchema.safeParse(config)
      expect(result.success, `${name}: ${JSON.stringify(result.error?.issues)}`).toBe(true)
    }
  })

  it('rejects every invalid config, naming the field the trainer names', () => {
    expect(invalid.length).toBeGreaterThan(0)
    for (const [name, config] of invalid) {
      const result = jobConfigSchema.safeParse(config)
      expect(result.success, name).toBe(false)
      const expected = cases[name]
      const field = typeof expected === 'string' ? expected : (expected as { field: string }).field
      const error = validationError(result.error!.issues, 'config.json')
      const fields = Object.keys((error.data as { fields: Record<string, string> }).fields)
      // zod reports an unknown key at its parent object; the trainer names the key itself.
      expect(fields.some((key) => field === key || field.startsWith(`${key}.`) || key === '(root)'), `${name}: ${fields.join(', ')} vs ${field}`).toBe(true)
    }
  })

  it('refuses unknown keys', () => {
    const [, config] = valid[0]!
    const result = jobConfigSchema.safeParse({ ...(config as object), surprise: true })
    expect(result.success).toBe(false)
  })
})
