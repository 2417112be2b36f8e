/**
 * Which page is open, mirrored in location.hash (#/jobs/<id>, #/new, #/setup)
 * so that a reload reopens the same page. The token stays in location.search.
 */
import { create } from 'zustand'

export type Page = { name: 'home' } | { name: 'new' } | { name: 'setup' } | { name: 'job'; jobId: string }

/** Reads a page from a hash such as "#/jobs/abc". */
export function pageFromHash(hash: string): Page {
  const path = hash.replace(/^#\/?/, '')
  if (path === 'new') return { name: 'new' }
  if (path === 'setup') return { name: 'setup' }
  const job = /^jobs\/(.+)$/.exec(path)
  if (job?.[1]) return { name: 'job', jobId: decodeURIComponent(job[1]) }
  return { name: 'home' }
}

/** The hash for a page. */
export function hashFromPage(page: Page): string {
  switch (page.name) {
    case 'job':
      return `#/jobs/${encodeURIComponent(page.jobId)}`
    case 'new':
      return '#/new'
    case 'setup':
      return '#/setup'
    default:
      return '#/'
  }
}

interface NavigationState {
  page: Page
  open(page: Page): void
}

/** The open page; use as useNavigationStore(selector). */
export const useNavigationStore = create<NavigationState>()((set) => ({
  page: typeof window === 'undefined' ? { name: 'home' } : pageFromHash(window.location.hash),
  open(page) {
    set({ page })
    const hash = hashFromPage(page)
    if (typeof window !== 'undefined' && window.location.hash !== hash) window.location.hash = hash
  },
}))

/** Follows back/forward and hand-edited hashes. */
export function followHashChanges(): () => void {
  const listener = (): void => {
    useNavigationStore.setState({ page: pageFromHash(window.location.hash) })
  }
  window.addEventListener('hashchange', listener)
  return () => window.removeEventListener('hashchange', listener)
}
