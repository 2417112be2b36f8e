/** Pages in location.hash, the new-job form from a checkpoint included, so a reload reopens them. */
import { describe, expect, it } from 'vitest'
import { hashFromPage, pageFromHash, type Page } from '../../renderer/src/stores/navigation'

describe('page hashes', () => {
  it('round-trips every page, a checkpoint with odd characters included', () => {
    const pages: Page[] = [
      { name: 'home' },
      { name: 'new' },
      { name: 'setup' },
      { name: 'job', jobId: 'abc' },
      { name: 'new', from: { jobId: 'job-1', checkpoint: 'my ckpt.v2' } },
    ]
    for (const page of pages) expect(pageFromHash(hashFromPage(page))).toEqual(page)
    expect(hashFromPage({ name: 'new', from: { jobId: 'j', checkpoint: 'step-4' } })).toBe('#/new/from/j/step-4')
  })
})
