/** What the Adapters page shows: each pick's weight, the combined rank, and a missing base named. */
import { describe, expect, it } from 'vitest'
import { pageFromHash, hashFromPage } from '../../renderer/src/stores/navigation'
import { baseNote, combinedRank, weightShares } from '../../renderer/src/logic/adapters'

describe('adapters page logic', () => {
  it('weighs each pick by its training examples once all are known', () => {
    expect(
      weightShares([
        { key: 'a', label: 'a', examples: 100 },
        { key: 'b', label: 'b', examples: 300 },
      ]),
    ).toEqual([0.25, 0.75])
    expect(
      weightShares([
        { key: 'a', label: 'a', examples: 100 },
        { key: 'b', label: 'b', examples: null },
      ]),
    ).toBeNull()
  })

  it('gives the rank of the result: the same when averaged, the sum when exact', () => {
    expect(combinedRank('average', [8, 8, 8])).toBe(8)
    expect(combinedRank('exact', [8, 8, 16])).toBe(32)
    expect(combinedRank('exact', [])).toBeNull()
  })

  it('names the base model an adapter needs when it is not on this machine', () => {
    expect(baseNote({ baseModel: 'Qwen/Qwen2.5-0.5B', baseAvailable: false })).toMatch(/Needs the base model Qwen\/Qwen2.5-0.5B/)
    expect(baseNote({ baseModel: '/models/x', baseAvailable: true })).toBeNull()
  })

  it('has its own address', () => {
    expect(hashFromPage({ name: 'adapters' })).toBe('#/adapters')
    expect(pageFromHash('#/adapters')).toEqual({ name: 'adapters' })
  })
})
