/**
 * Which Tunedeck this window drives: this machine's host, or a `serve` elsewhere chosen on the
 * start page (address + token). The choice is kept by the desktop shell (the token encrypted
 * with the OS keychain through safeStorage) or, in a browser, in this tab's sessionStorage
 * only. The page is loaded again to switch, so every store starts over against the new host
 * and the page's CSP names the remote origin (serve adds it for `?remote=ORIGIN`, the
 * desktop shell for the origin it keeps).
 */
import { checkRemote, remoteProblem, remoteQueryKey, type RemoteHost } from '@shared/remote'
import { tokenStorageKey } from './websocket'

/** Where the choice is kept. */
export interface RemoteKeeper {
  load(): Promise<RemoteHost | null>
  save(host: RemoteHost): Promise<void>
  clear(): Promise<void>
}

/** The shell's keeper, exposed by the desktop preload (safeStorage in main). */
export interface ShellRemoteKeeper extends RemoteKeeper {
  /** False where the OS offers no keychain: then the token is kept until the app quits only. */
  remembers(): Promise<boolean>
}

const sessionKey = 'tunedeck.remote'

/** The browser's keeper: this tab only, gone when the tab closes. */
export const sessionKeeper: RemoteKeeper = {
  async load() {
    try {
      const value = JSON.parse(sessionStorage.getItem(sessionKey) ?? 'null') as RemoteHost | null
      return value && typeof value.origin === 'string' && typeof value.token === 'string' ? value : null
    } catch {
      return null
    }
  },
  async save(host) {
    sessionStorage.setItem(sessionKey, JSON.stringify(host))
  },
  async clear() {
    sessionStorage.removeItem(sessionKey)
  },
}

/** The keeper of this window: the desktop shell's, else this tab's sessionStorage. */
export function remoteKeeper(): RemoteKeeper {
  return (typeof window !== 'undefined' && window.tunedeckRemote) || sessionKeeper
}

/** The page address that serves this page with `origin` in its CSP (or none: null). */
export function addressFor(location: { pathname: string; search: string; hash: string }, origin: string | null): string {
  const query = new URLSearchParams(location.search)
  if (origin) query.set(remoteQueryKey, origin)
  else query.delete(remoteQueryKey)
  const search = query.toString()
  return `${location.pathname}${search ? `?${search}` : ''}${location.hash}`
}

/** What the start found: the host to drive, or why this window drives this machine. */
export type RemoteStart = { remote: RemoteHost | null; problem: string | null; reloading: boolean }

/**
 * Decides at start which host to drive. A kept remote that refuses its token or does not
 * answer is forgotten, and the reason is returned for the page to show. In a browser, a
 * page loaded without the kept origin in its address is loaded again with it first.
 */
export async function resolveRemote(keeper: RemoteKeeper, inBrowser: boolean, fetchText: typeof fetch = fetch): Promise<RemoteStart> {
  const kept = await keeper.load()
  const named = new URLSearchParams(window.location.search).get(remoteQueryKey)
  if (inBrowser && (kept?.origin ?? null) !== named) {
    window.location.replace(addressFor(window.location, kept?.origin ?? null))
    return { remote: null, problem: null, reloading: true }
  }
  if (!kept) return { remote: null, problem: null, reloading: false }
  const check = await checkRemote(kept, fetchText)
  if (check === 'good') return { remote: kept, problem: null, reloading: false }
  await keeper.clear()
  return { remote: null, problem: remoteProblem(kept.origin, check), reloading: false }
}

/** Keeps `host` and loads the page again against it. */
export async function switchTo(host: RemoteHost | null): Promise<void> {
  const keeper = remoteKeeper()
  if (host) await keeper.save(host)
  else await keeper.clear()
  // The desktop page keeps its address (the shell's CSP follows the kept origin).
  const next = addressFor(window.location, host?.origin ?? null)
  if (window.tunedeckRemote || next === `${window.location.pathname}${window.location.search}${window.location.hash}`)
    window.location.reload()
  else window.location.assign(next)
}

let driven: RemoteHost | null = null

/** Set once at start by the client (client.ts). */
export function setDrivenHost(host: RemoteHost | null): void {
  driven = host
}

/** The remote host this window drives, or null for this machine. */
export function drivenHost(): RemoteHost | null {
  return driven
}

/**
 * Where uploads and download tickets go, and with which token: the remote serve, or the
 * serve that sent this page ('' = this page's own origin, its token from the tab).
 */
export function httpHost(): { origin: string; token: string } {
  if (driven) return { origin: driven.origin, token: driven.token }
  return { origin: '', token: sessionStorage.getItem(tokenStorageKey) ?? '' }
}
