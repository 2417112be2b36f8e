import { describe, expect, it } from 'vitest'
import { controlCommandSchema, trainerEventSchema, trainerEventTypes } from '@shared'
import { readJsonLines } from './vectors'

describe('trainer protocol vectors', () => {
  const valid = readJsonLines('protocol/valid.jsonl')
  const invalid = readJsonLines('protocol/invalid.jsonl')

  it('accepts every valid event line', () => {
    expect(valid.length).toBeGreaterThan(0)
    for (const line of valid) {
      const result = trainerEventSchema.safeParse(line)
      expect(result.success, JSON.stringify(line)).toBe(true)
    }
  })

  it('has a valid vector for every event type', () => {
    const seen = new Set(valid.map((line) => (line as { type: string }).type))
    for (const type of trainerEventTypes) expect(seen, type).toContain(type)
  })

  it('rejects every invalid event line', () => {
    expect(invalid.length).toBeGreaterThan(0)
    for (const line of invalid) {
      const parsed = trainerEventSchema.safeParse(line)
      expect(parsed.success, JSON.stringify(line)).toBe(false)
    }
  })

  it('keeps unknown fields, so a newer trainer can add some', () => {
    const step = valid.find((line) => (line as { type: string }).type === 'step') as Record<string, unknown>
    const parsed = trainerEventSchema.parse({ ...step, somethingNew: 1 })
    expect(parsed).toMatchObject({ somethingNew: 1 })
  })

  it('accepts the control commands and refuses a checkpoint without a name', () => {
    expect(controlCommandSchema.safeParse({ cmd: 'pause' }).success).toBe(true)
    expect(controlCommandSchema.safeParse({ cmd: 'checkpoint', name: 'before-lr-drop' }).success).toBe(true)
    expect(controlCommandSchema.safeParse({ cmd: 'checkpoint' }).success).toBe(false)
    expect(controlCommandSchema.safeParse({ cmd: 'explode' }).success).toBe(false)
  })
})
