/**
 * Another Tunedeck's page driving this serve as its remote host (the start page's "Remote
 * Tunedeck"): a tab served by serve A, or the desktop window, talks to serve B. B takes such a
 * page only on the paths that check the token themselves (the WebSocket, the token check,
 * uploads and download tickets), answers their CORS preflight, and lets the page read their
 * answers, refusals included, so that it can say "wrong token" rather than "unreachable".
 * The renderer's files and everything else stay same-origin only. No cookie is involved: the
 * token travels as a bearer header or WebSocket subprotocol, so a page without it gets 401.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { runUploadPath, tokenCheckPath } from '@shared/api'
import { adapterUploadPath } from '@shared/adapters'
import { datasetUploadPath } from '@shared/datasets'
import { downloadTicketPath } from '@shared/exports'

/** The paths that check the token on every request and so may answer another Tunedeck's page. */
export const tokenCheckedPaths: ReadonlySet<string> = new Set([
  tokenCheckPath,
  datasetUploadPath,
  adapterUploadPath,
  runUploadPath,
  downloadTicketPath,
])

/** The headers that let the page at `origin` read an answer (no credentials: the token is a header). */
export function corsHeaders(origin: string): Record<string, string> {
  return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' }
}

/**
 * Answers a CORS preflight for a token-checked path: the page may send its token
 * (Authorization) and a file's type. Returns false when the request is no preflight.
 */
export function answerPreflight(
  request: IncomingMessage,
  response: ServerResponse,
  origin: string,
  headers: Record<string, string>,
): boolean {
  if (request.method !== 'OPTIONS') return false
  request.resume()
  response.writeHead(204, {
    ...headers,
    ...corsHeaders(origin),
    'Access-Control-Allow-Methods': 'GET, POST',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type',
    'Access-Control-Max-Age': '600',
  })
  response.end()
  return true
}
