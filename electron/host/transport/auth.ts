/**
 * The token and origin checks of serve. The page's address carries the token
 * in its fragment (#token=...), which browsers never send to a server, keep
 * in no Referer and which the page removes from the address bar on load; the
 * page then sends it with its WebSocket as a subprotocol. No cookie: a cookie
 * ignores ports, so every server on 127.0.0.1 would receive it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** The subprotocol the page asks for; the server picks it when the token is good. */
export const webSocketProtocol = 'tunedeck'

/** The prefix of the subprotocol that carries the token: `tunedeck.token.<token>`. */
export const tokenProtocolPrefix = 'tunedeck.token.'

/** Tokens shorter than this are refused: a guessable token is no lock at all. */
export const minimumTokenLength = 32

// Subprotocol values are HTTP tokens; base64url (what newToken makes) fits, and "." and "~" too.
const tokenCharacters = /^[A-Za-z0-9._~-]+$/

/** A fresh random token: 24 bytes, base64url (32 characters). */
export function newToken(): string {
  return randomBytes(24).toString('base64url')
}

/** A token someone chose (TUNEDECK_TOKEN) that serve refuses to run with. */
export class TokenError extends Error {}

/**
 * The token to use: `chosen` (from the caller or TUNEDECK_TOKEN) when it is
 * long enough and fits in a header, else a fresh one when none was chosen.
 */
export function pickToken(chosen: string | undefined, source = 'TUNEDECK_TOKEN'): string {
  if (chosen === undefined || chosen === '') return newToken()
  if (chosen.length < minimumTokenLength) {
    throw new TokenError(
      `${source} is ${chosen.length} characters long: use at least ${minimumTokenLength} random characters (or unset it and serve makes one).`,
    )
  }
  if (!tokenCharacters.test(chosen)) {
    throw new TokenError(
      `${source} may hold only letters, digits and . _ ~ - (it travels in a WebSocket header): choose another, or unset it and serve makes one.`,
    )
  }
  return chosen
}

function sameToken(given: string | null | undefined, token: string): boolean {
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The subprotocols a WebSocket handshake offers, in order. */
export function offeredProtocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol']
  return (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((value) => value.trim())
    .filter(Boolean)
}

/**
 * True when a WebSocket handshake carries the token: as the page sends it (a
 * `tunedeck.token.<token>` subprotocol), as a script may (`Authorization:
 * Bearer <token>`), or in the socket address's query (`/ws?token=`), which
 * never shows in an address bar.
 */
export function hasToken(request: IncomingMessage, url: URL, token: string): boolean {
  for (const protocol of offeredProtocols(request)) {
    if (protocol.startsWith(tokenProtocolPrefix) && sameToken(protocol.slice(tokenProtocolPrefix.length), token)) return true
  }
  const authorization = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')
  if (sameToken(authorization?.[1], token)) return true
  return sameToken(url.searchParams.get('token'), token)
}

/** True for the addresses that keep serve on this machine. */
export function isLoopback(bindHost: string): boolean {
  return bindHost === 'localhost' || bindHost === '::1' || bindHost.startsWith('127.')
}

/**
 * True when the Host header names this server (a guard against DNS
 * rebinding) and any Origin header is this server's own origin, compared
 * exactly. Listening beyond loopback (`anyHost`), other machines reach it by
 * names it cannot know: then any Host is taken, the Origin must still be the
 * address the page came from, and the token is the guard.
 */
export function sameOrigin(request: IncomingMessage, port: number, anyHost = false): boolean {
  if (anyHost) {
    const origin = request.headers.origin
    return origin === undefined || origin === `http://${request.headers.host ?? ''}`
  }
  if (!ownHost(request, port)) return false
  const origin = request.headers.origin
  return origin === undefined || [`127.0.0.1:${port}`, `localhost:${port}`].some((host) => origin === `http://${host}`)
}

/** True when the Host header names this server (any Host when it listens beyond loopback). */
export function ownHost(request: IncomingMessage, port: number, anyHost = false): boolean {
  return anyHost || [`127.0.0.1:${port}`, `localhost:${port}`].includes(request.headers.host ?? '')
}

/**
 * The Origin of another Tunedeck's page that drives this serve as its remote host: a
 * well-formed http(s) origin that is not this server's own, sent with this server's Host.
 * or the desktop app's (app://tunedeck).
 * Null for this server's own pages, for no Origin, and for "null" or malformed ones. Such a
 * request is taken only on the paths that check the token (crossOrigin.ts), and only with it.
 */
export function otherPageOrigin(request: IncomingMessage, port: number, anyHost = false): string | null {
  const origin = request.headers.origin
  if (origin === undefined || !ownHost(request, port, anyHost) || sameOrigin(request, port, anyHost)) return null
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return null
  }
  if (origin === desktopAppOrigin) return origin
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === origin ? origin : null
}

/** The desktop app's page origin (electron/main/policy.ts appOrigin), which drives a remote serve too. */
const desktopAppOrigin = 'app://tunedeck'
