/**
 * The headless server, in-process on a free port with a scratch data folder:
 * the page to its own address only, no route without the token, a WebSocket
 * round trip with it, and system.info that tells the truth about Python and
 * the (missing) GPU.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { WireFromHost, WireResponse } from '@shared/api'
import { jobSchema } from '@shared/jobs'
import { systemInfoSchema } from '@shared/system'
import { createHost, type Host } from '../../electron/host/host'
import { startServer, type RunningServer } from '../../electron/host/transport/server'
import { trainerPython } from './trainerPython'
import { checked } from './routes'

const ciPython = trainerPython()
const repoDir = resolve(__dirname, '../..')
const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-serve-'))
const rendererDir = join(workDir, 'renderer')
const savedPython = process.env.TUNEDECK_PYTHON
let host: Host
let server: RunningServer

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON = ciPython
  mkdirSync(join(rendererDir, 'assets'), { recursive: true })
  writeFileSync(
    join(rendererDir, 'index.html'),
    '<!doctype html><title>Tunedeck test page</title><script type="module" src="/assets/app.js"></script>\n',
  )
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log("tunedeck")\n')
  writeFileSync(join(workDir, 'secret.txt'), 'outside the renderer\n')
  host = createHost({
    dataDir: join(workDir, 'data'),
    resourcesDir: join(repoDir, 'resources'),
    pythonRuntimeDir: join(repoDir, 'python-runtime'),
    appVersion: '0.1.0-test',
  })
  await host.start()
  server = await startServer(host, { port: 0, rendererDir, roots: [workDir] })
})

afterAll(async () => {
  await server?.close()
  await host?.shutdown()
  if (savedPython === undefined) delete process.env.TUNEDECK_PYTHON
  else process.env.TUNEDECK_PYTHON = savedPython
  rmSync(workDir, { recursive: true, force: true })
})

/** A raw GET, so paths reach the server exactly as written (fetch would normalize "..") */
function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((done, fail) => {
    const request = httpRequest({ host: '127.0.0.1', port: server.port, path, headers }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString()))
      response.on('end', () => done({ status: response.statusCode ?? 0, headers: response.headers, body }))
    })
    request.on('error', fail)
    request.end()
  })
}

/** Opens a socket; resolves when open or with the HTTP status that refused it. */
function connect(query: string, headers: Record<string, string> = {}, protocols: string[] = []): Promise<WebSocket | number> {
  return new Promise((done, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws${query}`, protocols, { headers })
    ws.on('open', () => done(ws))
    ws.on('unexpected-response', (_request, response) => done(response.statusCode ?? 0))
    ws.on('error', fail)
  })
}

/** Sends one request and waits for the response with its id; an ok output is checked against the route's schema. */
function call(ws: WebSocket, route: string, input: unknown, id: number): Promise<WireResponse> {
  return new Promise((done) => {
    const onMessage = (data: Buffer): void => {
      const message = JSON.parse(data.toString()) as WireFromHost
      if (message.kind === 'response' && message.id === id) {
        ws.off('message', onMessage)
        done(checked(route, message))
      }
    }
    ws.on('message', onMessage)
    ws.send(JSON.stringify({ kind: 'request', id, route, input }))
  })
}

describe('serve', () => {
  it('prints a URL on 127.0.0.1 with a long random token in the fragment', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/#token=${server.token}`)
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{32}$/)
  })

  it('serves the page to its own address only, and never sets a cookie', async () => {
    const page = await get('/')
    expect(page.status).toBe(200)
    expect(page.body).toContain('Tunedeck test page')
    expect(page.headers['set-cookie']).toBeUndefined()
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    expect(page.headers['cache-control']).toBe('no-store')
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.headers['cross-origin-resource-policy']).toBe('same-origin')
    // A page on another host name that resolves here (DNS rebinding) gets nothing.
    const rebound = await get('/', { host: `attacker.example:${server.port}` })
    expect(rebound.status).toBe(403)
    expect(rebound.body).not.toContain('Tunedeck test page')
    const foreign = await get('/assets/app.js', { origin: 'http://evil.example' })
    expect(foreign.status).toBe(403)
  })

  it('serves assets and nothing outside the renderer folder', async () => {
    const script = await get('/assets/app.js')
    expect(script.status).toBe(200)
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(script.body).toContain('console.log')
    expect((await get('/missing.js')).status).toBe(404)
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const escaped = await get(path)
      expect(escaped.status).toBe(404)
      expect(escaped.body).not.toContain('outside the renderer')
    }
  })

  it('refuses a WebSocket without the token (401), from another origin without it (401), or from a null Origin (403)', async () => {
    expect(await connect('')).toBe(401)
    expect(await connect('?token=wrong')).toBe(401)
    expect(await connect('', {}, ['tunedeck', 'tunedeck.token.wrong'])).toBe(401)
    expect(await connect('', { cookie: `tunedeck_token_${server.port}=${server.token}` })).toBe(401)
    // Another origin is another Tunedeck's page driving this serve only when it has the token (security.test.ts).
    expect(await connect('', { origin: 'http://evil.example' })).toBe(401)
    expect(await connect(`?token=${server.token}`, { origin: 'null' })).toBe(403)
  })

  it('round-trips jobs.list and system.info over the WebSocket', async () => {
    const ws = await connect('', { authorization: `Bearer ${server.token}`, origin: `http://127.0.0.1:${server.port}` })
    if (typeof ws === 'number') throw new Error(`WebSocket refused with ${ws}`)
    try {
      const list = await call(ws, 'jobs.list', {}, 1)
      expect(list.ok).toBe(true)
      if (list.ok) expect(jobSchema.array().parse(list.output)).toEqual([])

      const info = await call(ws, 'system.info', {}, 2)
      if (!info.ok) throw new Error(info.error.message)
      const system = systemInfoSchema.parse(info.output)
      expect(system.appVersion).toBe('0.1.0-test')
      expect(system.dataDir).toBe(join(workDir, 'data'))
      expect(system.python).toMatchObject({ found: true, source: 'env', path: ciPython, cudaAvailable: false })
      expect(system.python.torch).toMatch(/^2\.9\.1/)
      expect(system.envState).toBe('ready')
      // No GPU here: said in words, with no readings at all rather than zeros.
      expect(system.gpu.available).toBe(false)
      expect(system.gpu.reason).toMatch(/No NVIDIA GPU found/)
      expect(system.gpu.gpus).toEqual([])

      const unknown = await call(ws, 'jobs.explode', {}, 3)
      expect(unknown.ok).toBe(false)
      if (!unknown.ok) expect(unknown.error.code).toBe('invalid_input')
    } finally {
      ws.close()
    }
  })

  it('accepts the WebSocket with the token as a subprotocol, as the page sends it', async () => {
    const ws = await connect('', { origin: `http://127.0.0.1:${server.port}` }, ['tunedeck', `tunedeck.token.${server.token}`])
    if (typeof ws === 'number') throw new Error(`WebSocket refused with ${ws}`)
    expect(ws.protocol).toBe('tunedeck')
    const queue = await call(ws, 'queue.get', {}, 7)
    expect(queue.ok).toBe(true)
    ws.close()
  })

  it('refuses a TUNEDECK_TOKEN shorter than 32 characters', async () => {
    await expect(startServer(host, { port: 0, rendererDir, roots: null, token: 'short-token' })).rejects.toThrow(
      /11 characters long: use at least 32/,
    )
    await expect(startServer(host, { port: 0, rendererDir, roots: null, token: `${'x'.repeat(32)} ;` })).rejects.toThrow(
      /may hold only letters/,
    )
  })
})
