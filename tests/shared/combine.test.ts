/** combineProblem: the one check the Adapters page and the host's combine both use. */
import { describe, expect, it } from 'vitest'
import { combineProblem, type CombineShape } from '@shared/adapters'

const shape = (label: string, change: Partial<CombineShape> = {}): CombineShape => ({
  label,
  baseModel: 'Qwen/Qwen2.5-0.5B',
  rank: 8,
  alpha: 16,
  targetModules: ['q_proj', 'v_proj'],
  dora: false,
  rslora: false,
  ...change,
})

describe('combineProblem', () => {
  it('accepts adapters of one base and shape in both modes, target modules in any order', () => {
    const sources = [shape('job "one"'), shape('job "two"', { targetModules: ['v_proj', 'q_proj'] })]
    expect(combineProblem('average', sources)).toBeNull()
    expect(combineProblem('exact', sources)).toBeNull()
  })

  it('refuses a rank mismatch in Average mode, naming both adapters and what to do', () => {
    expect(combineProblem('average', [shape('job "one"'), shape('library adapter "big"', { rank: 16, alpha: 32 })])).toBe(
      'Library adapter "big" differs from job "one" in its rank: 16 against 8; Average mode averages every tensor, so the ranks must be equal: pick adapters of one rank.',
    )
  })

  it('names the first thing that differs: base model, alpha, DoRA', () => {
    expect(combineProblem('exact', [shape('a'), shape('b', { baseModel: 'other/base' })])).toMatch(
      /^B differs from a in its base model: other\/base against Qwen\/Qwen2\.5-0\.5B/,
    )
    expect(combineProblem('average', [shape('a'), shape('b', { alpha: 8 })])).toMatch(/in its alpha: 8 against 16/)
    expect(combineProblem('average', [shape('a', { dora: true }), shape('b', { dora: true })])).toBeNull()
    expect(combineProblem('exact', [shape('a', { dora: true }), shape('b', { dora: true })])).toMatch(
      /^DoRA adapters cannot be combined exactly/,
    )
  })

  it('needs two adapters', () => {
    expect(combineProblem('average', [shape('a')])).toBe('Choose at least two adapters to combine.')
  })
})
