/**
 * Which page is open, mirrored in location.hash (#/jobs/<id>, #/new,
 * #/new/from/<job id>/<checkpoint>, #/new/again/<job id>, #/setup, #/models, #/compare/<id>,<id>,...,
 * #/chat, #/chat/<job id>[/<checkpoint>], #/chat/adapter/<library adapter id>, #/adapters)
 * so that a reload reopens the same page. serve's address carries its token
 * as #token=..., which reads as the home page; the client moves the token into
 * sessionStorage and takes it out of the address bar.
 */
import { create } from 'zustand'
import type { ChatSource } from '@shared/chat'
import { parseCompareIds } from '../logic/compare'

/** A checkpoint a new job starts from. */
export interface StartFrom {
  jobId: string
  checkpoint: string
}

export type Page =
  | { name: 'home' }
  /** `again`: the form filled with that job's settings, to change and run again. */
  | { name: 'new'; from?: StartFrom; datasetId?: string; again?: string }
  | { name: 'datasets' }
  | { name: 'setup' }
  | { name: 'models' }
  | { name: 'job'; jobId: string }
  | { name: 'compare'; jobIds: string[] }
  /** Chat with a job's adapter (checkpoint null), one of its checkpoints, or a library adapter; no source: pick one. */
  | { name: 'chat'; source?: ChatSource }
  | { name: 'adapters' }

/** Reads a page from a hash such as "#/jobs/abc". */
export function pageFromHash(hash: string): Page {
  const path = hash.replace(/^#\/?/, '')
  if (path === 'new') return { name: 'new' }
  const from = /^new\/from\/([^/]+)\/([^/]+)$/.exec(path)
  if (from?.[1] && from[2]) return { name: 'new', from: { jobId: decodeURIComponent(from[1]), checkpoint: decodeURIComponent(from[2]) } }
  const again = /^new\/again\/([^/]+)$/.exec(path)
  if (again?.[1]) return { name: 'new', again: decodeURIComponent(again[1]) }
  if (path === 'setup') return { name: 'setup' }
  // Job ids are a time and random characters, never "adapter".
  const withAdapter = /^chat\/adapter\/([^/]+)$/.exec(path)
  if (withAdapter?.[1]) return { name: 'chat', source: { adapterId: decodeURIComponent(withAdapter[1]) } }
  const chat = /^chat(?:\/([^/]+)(?:\/([^/]+))?)?$/.exec(path)
  if (chat)
    return chat[1]
      ? { name: 'chat', source: { jobId: decodeURIComponent(chat[1]), checkpoint: chat[2] ? decodeURIComponent(chat[2]) : null } }
      : { name: 'chat' }
  if (path === 'adapters') return { name: 'adapters' }
  if (path === 'models') return { name: 'models' }
  if (path === 'datasets') return { name: 'datasets' }
  const onDataset = /^new\/dataset\/([^/]+)$/.exec(path)
  if (onDataset?.[1]) return { name: 'new', datasetId: decodeURIComponent(onDataset[1]) }
  const compare = /^compare(?:\/(.*))?$/.exec(path)
  if (compare) return { name: 'compare', jobIds: parseCompareIds(compare[1] ?? '') }
  const job = /^jobs\/(.+)$/.exec(path)
  if (job?.[1]) return { name: 'job', jobId: decodeURIComponent(job[1]) }
  return { name: 'home' }
}

/** The hash for a page. */
export function hashFromPage(page: Page): string {
  switch (page.name) {
    case 'job':
      return `#/jobs/${encodeURIComponent(page.jobId)}`
    case 'datasets':
      return '#/datasets'
    case 'new':
      if (page.datasetId) return `#/new/dataset/${encodeURIComponent(page.datasetId)}`
      if (page.again) return `#/new/again/${encodeURIComponent(page.again)}`
      return page.from ? `#/new/from/${encodeURIComponent(page.from.jobId)}/${encodeURIComponent(page.from.checkpoint)}` : '#/new'
    case 'setup':
      return '#/setup'
    case 'chat':
      if (!page.source) return '#/chat'
      if ('adapterId' in page.source) return `#/chat/adapter/${encodeURIComponent(page.source.adapterId)}`
      return `#/chat/${encodeURIComponent(page.source.jobId)}${page.source.checkpoint ? `/${encodeURIComponent(page.source.checkpoint)}` : ''}`
    case 'adapters':
      return '#/adapters'
    case 'models':
      return '#/models'
    case 'compare':
      return page.jobIds.length > 0 ? `#/compare/${page.jobIds.map(encodeURIComponent).join(',')}` : '#/compare'
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
