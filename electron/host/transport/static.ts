/**
 * Serves the built renderer's files to a request that already passed the
 * Host and Origin checks, with the same Content-Security-Policy the Electron
 * window applies, and never a file outside the renderer folder, through a
 * symlink or otherwise. The files are the public build of the renderer and
 * hold no secret; what they talk to, the WebSocket, needs the token.
 */
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { remoteConnectSources } from '@shared/remote'

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
}

/**
 * The page's CSP: scripts and styles from this origin only (inline styles for
 * xterm and chart.js), and connections back to this server's WebSocket, plus
 * the one remote Tunedeck the page asked for (`?remote=ORIGIN`, checked by
 * remoteOrigin), when the tab drives another machine.
 */
export function contentSecurityPolicy(port: number, remote: string | null = null): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}${remote ? ` ${remoteConnectSources(remote)}` : ''}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** Headers every answer carries, files and errors alike. */
export function securityHeaders(port: number, remote: string | null = null): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(port, remote),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    // Belt and braces: the token rides in the fragment, which no Referer carries anyway.
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    // Another site's page may not embed our files (a <script src> sends no Origin to check).
    'Cross-Origin-Resource-Policy': 'same-origin',
  }
}

/** Writes a short plain-text answer. */
export function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
  response.end(`${text}\n`)
}

/**
 * The file under `root` that a URL path names, or null when the path is
 * malformed or leaves the folder. "/" is index.html.
 */
export function resolveStaticPath(root: string, pathname: string): string | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return null
  }
  if (decoded.includes('\0')) return null
  const wanted = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '')
  const base = resolve(root)
  const file = resolve(join(base, wanted))
  return isInside(base, file) ? file : null
}

function isInside(base: string, file: string): boolean {
  const inside = relative(base, file)
  return inside !== '' && inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside)
}

/**
 * The real path of the file `pathname` names, when it and every symlink on
 * the way stay inside the real renderer folder; else null.
 */
export async function resolveRealStaticPath(root: string, pathname: string): Promise<string | null> {
  const file = resolveStaticPath(root, pathname)
  if (!file) return null
  const [realRoot, realFile] = await Promise.all([realpath(resolve(root)), realpath(file)]).catch(() => [null, null])
  if (!realRoot || !realFile) return null
  return isInside(realRoot, realFile) ? realFile : null
}

/** Streams a file of the renderer, or answers 404 / 405. */
export async function serveStatic(
  root: string,
  pathname: string,
  method: string,
  response: ServerResponse,
  headers: Record<string, string>,
): Promise<void> {
  if (method !== 'GET' && method !== 'HEAD') return sendText(response, 405, 'Method not allowed.', { ...headers, Allow: 'GET, HEAD' })
  const file = await resolveRealStaticPath(root, pathname)
  const info = file ? await stat(file).catch(() => null) : null
  if (!file || !info?.isFile()) return sendText(response, 404, `Not found: ${pathname}`, headers)
  const extension = extname(file).toLowerCase()
  response.writeHead(200, {
    ...headers,
    'Content-Type': (Object.hasOwn(contentTypes, extension) ? contentTypes[extension] : undefined) ?? 'application/octet-stream',
    'Content-Length': String(info.size),
    // index.html names the hashed assets of one build; it must never be cached.
    'Cache-Control': extension === '.html' ? 'no-store' : 'no-cache',
  })
  if (method === 'HEAD') return void response.end()
  // Read the real path checked above, so a link swapped since cannot lead outside.
  createReadStream(file)
    .on('error', () => response.destroy())
    .pipe(response)
}
