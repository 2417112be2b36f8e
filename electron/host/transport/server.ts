/**
 * The headless server: the built renderer over HTTP and the host over a
 * WebSocket, on 127.0.0.1 only. Every answer needs this server's own Host
 * (and Origin, when one is sent); the WebSocket, where all the host's routes
 * are, also needs the token. The printed address carries the token in its
 * fragment, which the browser keeps to itself.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Host } from '../host'
import { hasToken, isLoopback, otherPageOrigin, pickToken, sameOrigin } from './auth'
import { answerPreflight, corsHeaders, tokenCheckedPaths } from './crossOrigin'
import { securityHeaders, sendText, serveStatic } from './static'
import type { RequestLimits } from './limits'
import { resolveRoots } from './roots'
import { defaultUploadLimitBytes, handleAdapterUpload, handleUpload } from './upload'
import { attachWebSocket, webSocketPath } from './websocket'
import { downloads } from './download'
import { handleRunUpload } from './runUpload'
import { datasetUploadPath } from '@shared/datasets'
import { adapterUploadPath } from '@shared/adapters'
import { runUploadPath, tokenCheckPath } from '@shared/api'
import { remoteOrigin, remoteQueryKey } from '@shared/remote'

/** Where and how to listen. */
export interface ServerOptions {
  /** 0 picks any free port. */
  port: number
  /** The address to bind: loopback by default; beyond it the token, sent in clear text, is the only guard. */
  bindHost?: string
  /** The built renderer (out/renderer), holding index.html. */
  rendererDir: string
  /** Defaults to TUNEDECK_TOKEN, else a fresh random token; one shorter than 32 characters is refused. */
  token?: string
  /**
   * The folders requests may name (datasets, models), before symlinks are
   * resolved; null lets any path through (only for tests of other things).
   */
  roots: readonly string[] | null
  limits?: Partial<RequestLimits>
  /** The largest dataset upload in bytes (default 4 GiB). */
  maxUploadBytes?: number
  /** A private folder for uploads unpacked before import (a cluster run's zip); default under the OS temp folder. */
  stagingDir?: string
}

/** A listening server. */
export interface RunningServer {
  port: number
  token: string
  /** The address to open, the token in its fragment. */
  url: string
  /** Closes every socket and stops listening (the host is not shut down). */
  close(): Promise<void>
}

/** Starts serving `host`; resolves once the port is bound. */
export async function startServer(host: Host, options: ServerOptions): Promise<RunningServer> {
  const token = options.token !== undefined ? pickToken(options.token, 'The token') : pickToken(process.env.TUNEDECK_TOKEN)
  const roots = options.roots ? resolveRoots(options.roots) : null
  const bindHost = options.bindHost ?? '127.0.0.1'
  const anyHost = !isLoopback(bindHost)
  let port = options.port
  const downloadRoutes = downloads({ token, roots })

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let headers = securityHeaders(port)
    request.on('error', () => request.destroy())
    response.on('error', () => response.destroy())
    let url: URL
    try {
      url = new URL(request.url ?? '/', `http://127.0.0.1:${port}`)
    } catch {
      return sendText(response, 400, 'Bad request.', headers)
    }
    // Another Tunedeck's page (a remote connection) reaches only the paths that check the token.
    const otherPage = tokenCheckedPaths.has(url.pathname) ? otherPageOrigin(request, port, anyHost) : null
    if (otherPage) {
      headers = { ...headers, ...corsHeaders(otherPage) }
      if (answerPreflight(request, response, otherPage, headers)) return
    } else if (!sameOrigin(request, port, anyHost))
      return sendText(response, 403, 'Forbidden: this server only answers its own address.', headers)
    // The page of a tab that drives another Tunedeck may connect there too (remoteOrigin checks the shape).
    const remote = remoteOrigin(url.searchParams.get(remoteQueryKey))
    if (remote && !otherPage) headers = securityHeaders(port, remote)
    if (url.pathname === datasetUploadPath) {
      return void handleUpload(request, response, url, {
        token,
        library: host.datasets,
        limitBytes: options.maxUploadBytes ?? defaultUploadLimitBytes,
        headers,
      })
    }
    if (downloadRoutes.handle(request, response, url, headers)) return
    if (url.pathname === runUploadPath) {
      const stagingDir = options.stagingDir ?? join(tmpdir(), `tunedeck-uploads-${process.pid}`)
      return void handleRunUpload(request, response, url, {
        token,
        host,
        stagingDir,
        limitBytes: options.maxUploadBytes ?? defaultUploadLimitBytes,
        headers,
      })
    }
    if (url.pathname === adapterUploadPath) {
      return void handleAdapterUpload(request, response, url, {
        token,
        adapters: host.adapters,
        limitBytes: options.maxUploadBytes ?? defaultUploadLimitBytes,
        headers,
      })
    }
    if (url.pathname === tokenCheckPath) {
      return hasToken(request, url, token)
        ? sendText(response, 200, 'The token is good.', headers)
        : sendText(response, 401, 'This token is not the one serve uses now.', headers)
    }
    if (url.pathname === webSocketPath) return sendText(response, 426, 'This path takes WebSocket connections only.', headers)
    void serveStatic(options.rendererDir, url.pathname, request.method ?? 'GET', response, headers).catch((error: Error) => {
      process.stderr.write(`Serving ${url.pathname} failed: ${error.stack}\n`)
      if (!response.headersSent) sendText(response, 500, 'Internal error.', headers)
      else response.destroy()
    })
  })
  // Without these, one client's reset connection would be an unhandled error that ends serve.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`)
    else socket.destroy()
  })
  server.on('connection', (socket) => socket.on('error', () => socket.destroy()))
  const closeWebSocket = attachWebSocket(server, host, { token, port: () => port, roots, limits: options.limits, anyHost })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, bindHost, () => {
      server.off('error', reject)
      server.on('error', (error) => process.stderr.write(`Server error: ${error.message}\n`))
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port

  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/#token=${token}`,
    async close() {
      await closeWebSocket()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}
