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
      { name: 'compare', jobIds: ['a', 'b,c', 'd e'] },
      { name: 'compare', jobIds: [] },
      { name: 'chat' },
      { name: 'chat', source: { jobId: 'job-1', checkpoint: null } },
      { name: 'chat', source: { jobId: 'job-1', checkpoint: 'my ckpt.v2' } },
      { name: 'chat', source: { adapterId: 'amx2ssdi373f699' } },
    ]
    for (const page of pages) expect(pageFromHash(hashFromPage(page))).toEqual(page)
    expect(hashFromPage({ name: 'new', from: { jobId: 'j', checkpoint: 'step-4' } })).toBe('#/new/from/j/step-4')
    expect(hashFromPage({ name: 'compare', jobIds: ['x', 'y'] })).toBe('#/compare/x,y')
    expect(hashFromPage({ name: 'chat', source: { jobId: 'j', checkpoint: 'step-4' } })).toBe('#/chat/j/step-4')
    expect(hashFromPage({ name: 'chat', source: { adapterId: 'a1' } })).toBe('#/chat/adapter/a1')
  })

  it('reopens a comparison from a hand-written address: repeats dropped, at most six runs', () => {
    expect(pageFromHash('#/compare/a,b,a,,c,d,e,f,g')).toEqual({ name: 'compare', jobIds: ['a', 'b', 'c', 'd', 'e', 'f'] })
  })
})
