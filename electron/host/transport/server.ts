/**
 * The headless server: the built renderer over HTTP and the host over a
 * WebSocket, on 127.0.0.1 only, both behind one random token.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Host } from '../host'
import { newToken, sameOrigin, tokenCookie, tokenSource } from './auth'
import { securityHeaders, sendText, serveStatic } from './static'
import { attachWebSocket, webSocketPath } from './websocket'

/** Where and how to listen. */
export interface ServerOptions {
  /** 0 picks any free port. */
  port: number
  /** The address to bind; only loopback addresses make sense (the token travels in clear text). */
  bindHost?: string
  /** The built renderer (out/renderer), holding index.html. */
  rendererDir: string
  /** Defaults to TUNEDECK_TOKEN, else a fresh random token. */
  token?: string
}

/** A listening server. */
export interface RunningServer {
  port: number
  token: string
  /** The address to open, token included. */
  url: string
  /** Closes every socket and stops listening (the host is not shut down). */
  close(): Promise<void>
}

/** Starts serving `host`; resolves once the port is bound. */
export async function startServer(host: Host, options: ServerOptions): Promise<RunningServer> {
  const token = options.token ?? (process.env.TUNEDECK_TOKEN || newToken())
  const bindHost = options.bindHost ?? '127.0.0.1'
  let port = options.port

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const headers = securityHeaders(port)
    const url = new URL(request.url ?? '/', `http://127.0.0.1:${port}`)
    if (!sameOrigin(request, port)) return sendText(response, 403, 'Forbidden: this server only answers its own address.', headers)
    const source = tokenSource(request, url, port, token)
    if (!source) {
      return sendText(response, 401, 'Unauthorized: open the address Tunedeck printed when it started; it carries the token.', headers)
    }
    if (url.pathname === webSocketPath) return sendText(response, 426, 'This path takes WebSocket connections only.', headers)
    const withCookie = source === 'query' ? { ...headers, 'Set-Cookie': tokenCookie(port, token) } : headers
    void serveStatic(options.rendererDir, url.pathname, request.method ?? 'GET', response, withCookie).catch((error: Error) => {
      process.stderr.write(`Serving ${url.pathname} failed: ${error.stack}\n`)
      if (!response.headersSent) sendText(response, 500, 'Internal error.', headers)
      else response.destroy()
    })
  })
  const closeWebSocket = attachWebSocket(server, host, token, () => port)

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, bindHost, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port

  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    async close() {
      await closeWebSocket()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}
