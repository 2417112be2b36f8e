/**
 * A Tunedeck on another machine that a window drives (the start page's "Remote Tunedeck"):
 * how its address is read, which sources the page's CSP must allow for it, and how the page
 * tells a wrong token from a host it cannot reach, in words. Shared by the renderer, the
 * desktop shell (which keeps the token with safeStorage) and serve (which widens the CSP of
 * the page that asks for one remote origin, and no other).
 */
import { tokenCheckPath } from './api'

/** The remote host a window drives: its origin (scheme, host, port) and serve's token. */
export interface RemoteHost {
  origin: string
  token: string
}

/** The query parameter naming the remote origin of a page served by serve (see remoteConnectSources). */
export const remoteQueryKey = 'remote'

/**
 * The origin of an http(s) address with nothing else in it (no user, path, query or
 * fragment), or null: the only shape allowed into a CSP header.
 */
export function remoteOrigin(text: string | null | undefined): string | null {
  if (!text) return null
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return null
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) return null
  return url.origin === text || `${url.origin}/` === text ? url.origin : null
}

/**
 * Reads what a person typed: the address serve printed (`http://HOST:PORT/#token=...`) or
 * `HOST:PORT`, with the token in its own field or in the address's fragment.
 */
export function parseRemoteAddress(address: string, typedToken: string): RemoteHost | { problem: string } {
  const text = address.trim()
  if (!text) return { problem: 'Type the address the other Tunedeck printed, such as http://192.168.1.20:8765/#token=….' }
  let url: URL
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`)
  } catch {
    return { problem: `"${text}" is not an address: use the one the other Tunedeck printed, such as http://192.168.1.20:8765/.` }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { problem: `"${text}" is not an http:// or https:// address: use the one serve printed.` }
  const token = typedToken.trim() || new URLSearchParams(url.hash.replace(/^#/, '')).get('token') || ''
  if (!token)
    return {
      problem: "The token is missing: copy it from the address serve printed (after #token=) or from its data folder's serve-token file.",
    }
  return { origin: url.origin, token }
}

/** The CSP connect-src entries that let a page reach `origin`: its HTTP and its WebSocket. */
export function remoteConnectSources(origin: string): string {
  const socket = origin.replace(/^http/, 'ws')
  return `${origin} ${socket}`
}

/** The WebSocket address of a remote serve. */
export function remoteSocketUrl(origin: string): string {
  return `${origin.replace(/^http/, 'ws')}/ws`
}

/** What asking a remote serve for its token check found. */
export type RemoteCheck = 'good' | 'refused' | 'unreachable'

/** Asks the remote serve whether it takes `token` (GET tokenCheckPath with the token as a bearer). */
export async function checkRemote(host: RemoteHost, fetchText: typeof fetch): Promise<RemoteCheck> {
  try {
    const response = await fetchText(`${host.origin}${tokenCheckPath}`, { headers: { Authorization: `Bearer ${host.token}` } })
    if (response.status === 401) return 'refused'
    return response.ok ? 'good' : 'unreachable'
  } catch {
    return 'unreachable'
  }
}

/** What the page says when a remote check is not good. */
export function remoteProblem(origin: string, check: Exclude<RemoteCheck, 'good'>): string {
  return check === 'refused'
    ? `The Tunedeck at ${origin} refused the token: copy it again from the address its serve printed (after #token=). This window drives this machine again.`
    : `No Tunedeck answered at ${origin}: check that serve runs there, the address and port, and that this machine can reach it (an SSH tunnel, for one). This window drives this machine again.`
}
