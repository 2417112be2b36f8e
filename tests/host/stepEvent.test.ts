/**
 * The tailer's fast path for step events gives zod's answer on every line: the
 * protocol vectors and each field of a valid step event replaced by values
 * that break one rule (missing, wrong type, out of range, fractional, unsafe).
 */
import { describe, expect, it } from 'vitest'
import { trainerEventSchema } from '@shared/protocol'
import { fastStepEvent } from '../../electron/host/trainer/stepEvent'
import { readJsonLines } from '../shared/vectors'

const step = {
  v: 1,
  seq: 7,
  time: 1767225600.5,
  type: 'step',
  step: 3,
  totalSteps: 10,
  loss: 2.5,
  lr: 1e-4,
  gradNorm: 0.8,
  tokens: 512,
  epoch: 0.3,
  tokensPerSecond: 1234.5,
  mfu: 0.41,
}
const replacements: unknown[] = [undefined, null, 'x', true, [], {}, -1, 0, 0.5, 1.5, 2 ** 53, -0.25, 1e308, Number.MAX_SAFE_INTEGER]

function zodStep(value: unknown): unknown {
  const parsed = trainerEventSchema.safeParse(value)
  return parsed.success && parsed.data.type === 'step' ? parsed.data : null
}

describe('the step-event fast path', () => {
  it('accepts exactly the step lines zod accepts, with the same fields', () => {
    const lines = [...readJsonLines('protocol/valid.jsonl'), ...readJsonLines('protocol/invalid.jsonl')]
    const cases: unknown[] = [
      ...lines,
      step,
      { ...step, extra: { nested: 1 } },
      { ...step, mfu: undefined },
      { ...step, gradNorm: null, mfu: null },
      null,
      3,
      [step],
    ]
    for (const field of Object.keys(step)) {
      for (const value of replacements) {
        const changed: Record<string, unknown> = { ...step, [field]: value }
        if (value === undefined) delete changed[field]
        cases.push(changed)
      }
    }
    let accepted = 0
    for (const value of cases) {
      const fast = fastStepEvent(value)
      expect(fast, JSON.stringify(value)).toEqual(zodStep(value))
      if (fast) accepted += 1
    }
    expect(accepted).toBeGreaterThan(30) // many valid variants, not only rejections
    expect(cases.length - accepted).toBeGreaterThan(100)
  })
})
