/** What the Adapters page shows beside the combine form and each library adapter. */
import type { LibraryAdapter } from '@shared/adapters'

/** One adapter picked in the combine form, with the examples that weigh it (null while unknown). */
export interface PickedSource {
  key: string
  label: string
  examples: number | null
}

/** Each pick's share of the weight, as the host will compute it (examples over their sum); null until all are known. */
export function weightShares(picked: readonly PickedSource[]): number[] | null {
  if (picked.some((source) => source.examples === null)) return null
  const total = picked.reduce((sum, source) => sum + (source.examples ?? 0), 0)
  return total > 0 ? picked.map((source) => (source.examples ?? 0) / total) : null
}

/** The rank the combination will have: the same for average, the sum for exact. */
export function combinedRank(mode: 'average' | 'exact', ranks: readonly number[]): number | null {
  if (ranks.length === 0) return null
  return mode === 'exact' ? ranks.reduce((sum, rank) => sum + rank, 0) : (ranks[0] ?? null)
}

/** What the list says about the base model: a warning naming it when it is not on this machine. */
export function baseNote(adapter: Pick<LibraryAdapter, 'baseModel' | 'baseAvailable'>): string | null {
  return adapter.baseAvailable
    ? null
    : `Needs the base model ${adapter.baseModel}, which is not on this machine: download it before training or loading.`
}
