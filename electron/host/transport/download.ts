/**
 * Downloads of finished export zips by the browser, so a browser user never needs a server
 * path. The page asks for a ticket with its token (POST /download/ticket?path=ZIP, Authorization:
 * Bearer), then opens /download/<ticket>: a plain link the browser saves like any download,
 * streamed from disk, with no token in any address. A ticket names one zip inside serve's
 * allowed folders, works once and for a minute.
 */
import { createReadStream, statSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { basename } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { downloadPath, downloadTicketPath } from '@shared/exports'
import { hasToken } from './auth'
import { allowedPath } from './roots'
import { sendText } from './static'

const ticketLifeMs = 60_000

/** The download routes of one server: tickets live in its memory only. */
export function downloads(options: { token: string; roots: readonly string[] | null }) {
  const tickets = new Map<string, { file: string; expires: number }>()

  function issue(request: IncomingMessage, response: ServerResponse, url: URL, headers: Record<string, string>): void {
    request.resume()
    if (!hasToken(request, url, options.token))
      return sendText(response, 401, 'A download ticket needs the token (Authorization: Bearer <token>).', headers)
    if (request.method !== 'POST') return sendText(response, 405, 'Ask for a ticket with POST.', headers)
    const asked = url.searchParams.get('path') ?? ''
    const file = options.roots ? allowedPath(asked, options.roots) : null
    if (file === null || !file.toLowerCase().endsWith('.zip') || !statSync(file).isFile()) {
      return sendText(response, 404, `No zip at ${asked} that this server may send: an export's zip inside its allowed folders.`, headers)
    }
    const now = Date.now()
    for (const [key, ticket] of tickets) if (ticket.expires < now) tickets.delete(key)
    const ticket = randomBytes(24).toString('base64url')
    tickets.set(ticket, { file, expires: now + ticketLifeMs })
    response.writeHead(200, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
    response.end(JSON.stringify({ url: `${downloadPath}${ticket}` }))
  }

  async function send(request: IncomingMessage, response: ServerResponse, url: URL, headers: Record<string, string>): Promise<void> {
    const key = url.pathname.slice(downloadPath.length)
    const ticket = tickets.get(key)
    tickets.delete(key)
    if (!ticket || ticket.expires < Date.now())
      return sendText(response, 404, 'This download link has expired: press Download again.', headers)
    const size = statSync(ticket.file).size
    const name = basename(ticket.file)
    response.writeHead(200, {
      ...headers,
      'Content-Type': 'application/zip',
      'Content-Length': String(size),
      'Cache-Control': 'no-store',
      // RFC 6266: a plain ASCII name, and the exact one in UTF-8.
      'Content-Disposition': `attachment; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    })
    if (request.method === 'HEAD') return void response.end()
    await pipeline(createReadStream(ticket.file), response).catch(() => response.destroy())
  }

  return {
    /** Handles the request when it is a download's; false for any other path. */
    handle(request: IncomingMessage, response: ServerResponse, url: URL, headers: Record<string, string>): boolean {
      if (url.pathname === downloadTicketPath) issue(request, response, url, headers)
      else if (url.pathname.startsWith(downloadPath)) void send(request, response, url, headers)
      else return false
      return true
    },
  }
}
