/**
 * The token check shared by serve's HTTP and WebSocket sides. The token comes
 * in the URL once (?token=...), then rides in an HttpOnly cookie so the page's
 * own requests and its WebSocket carry it without script access.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** A fresh random token: 24 bytes, base64url. */
export function newToken(): string {
  return randomBytes(24).toString('base64url')
}

/** The cookie's name; cookies ignore ports, so two servers on one host must not share one. */
export function cookieName(port: number): string {
  return `tunedeck_token_${port}`
}

/** The Set-Cookie value that keeps the token for the page's later requests. */
export function tokenCookie(port: number, token: string): string {
  return `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`
}

function sameToken(given: string | null | undefined, token: string): boolean {
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return rest.join('=')
  }
  return null
}

/** How a request proved it holds the token: in its query, its cookie, or not at all. */
export function tokenSource(request: IncomingMessage, url: URL, port: number, token: string): 'query' | 'cookie' | null {
  if (sameToken(url.searchParams.get('token'), token)) return 'query'
  if (sameToken(cookieValue(request.headers.cookie, cookieName(port)), token)) return 'cookie'
  return null
}

/**
 * True when the Host header names this server (a guard against DNS
 * rebinding) and any Origin header is this server's own origin.
 */
export function sameOrigin(request: IncomingMessage, port: number): boolean {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`]
  if (!hosts.includes(request.headers.host ?? '')) return false
  const origin = request.headers.origin
  return origin === undefined || hosts.some((host) => origin === `http://${host}`)
}
