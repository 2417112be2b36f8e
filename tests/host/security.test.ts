/**
 * The security review's bad requests against a real serve (in-process, real
 * host, real trainer Python for previews): without the token, with a wrong
 * one, from a foreign Host or Origin, encoded traversal, a planted symlink,
 * oversized headers and frames, malformed frames and JSON, paths outside the
 * allowed roots, and floods. Each must be refused, and the server must still
 * answer a good request afterwards. The last test prints how many bad
 * requests were tried and how many were accepted (it must be none).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { WireFromHost, WireResponse } from '@shared/api'
import { fieldErrorsOf } from '@shared/errors'
import { createHost, type Host } from '../../electron/host/host'
import { startServer, type RunningServer } from '../../electron/host/transport/server'
import { trainerPython } from './trainerPython'

const ciPython = trainerPython()
const repoDir = resolve(__dirname, '../..')
const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-security-'))
const rendererDir = join(workDir, 'renderer')
const allowedDir = join(workDir, 'allowed')
const outsideDir = join(workDir, 'outside')
const secret = 'outside the roots: must never be read'
const savedPython = process.env.TUNEDECK_PYTHON
const tally = { tried: 0, accepted: [] as string[] }
let host: Host
let server: RunningServer

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON = ciPython
  mkdirSync(join(rendererDir, 'assets'), { recursive: true })
  mkdirSync(allowedDir, { recursive: true })
  mkdirSync(join(outsideDir, 'model'), { recursive: true })
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Tunedeck test page</title>\n')
  writeFileSync(join(workDir, 'secret.txt'), `${secret}\n`)
  const row = JSON.stringify({ prompt: secret, completion: secret })
  writeFileSync(join(outsideDir, 'secret.jsonl'), `${row}\n${row}\n`)
  writeFileSync(join(allowedDir, 'train.jsonl'), `${JSON.stringify({ prompt: 'Hi', completion: 'Hello' })}\n`)
  // Symlinks planted inside the served and the allowed folders, pointing out of them.
  symlinkSync(join(workDir, 'secret.txt'), join(rendererDir, 'planted.txt'))
  symlinkSync(workDir, join(rendererDir, 'planted-folder'))
  symlinkSync(join(outsideDir, 'secret.jsonl'), join(allowedDir, 'planted.jsonl'))
  symlinkSync(outsideDir, join(allowedDir, 'planted-folder'))
  host = createHost({
    dataDir: join(workDir, 'data'),
    resourcesDir: join(repoDir, 'resources'),
    pythonRuntimeDir: join(repoDir, 'python-runtime'),
    appVersion: '0.1.0-test',
  })
  await host.start()
  const limits = { connections: 6, queuedPerConnection: 4, perConnection: 2, expensiveTotal: 2, expensivePerConnection: 1 }
  server = await startServer(host, { port: 0, rendererDir, roots: [allowedDir, join(workDir, 'data')], limits })
})

afterAll(async () => {
  await server?.close()
  await host?.shutdown()
  if (savedPython === undefined) delete process.env.TUNEDECK_PYTHON
  else process.env.TUNEDECK_PYTHON = savedPython
  rmSync(workDir, { recursive: true, force: true })
})

/** Records one bad request and whether the server let it through. */
function tried(what: string, accepted: boolean): void {
  tally.tried += 1
  if (accepted) tally.accepted.push(what)
}

const ownOrigin = (): string => `http://127.0.0.1:${server.port}`

/** A raw GET, so paths and headers reach the server exactly as written. */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const request = httpRequest({ host: '127.0.0.1', port: server.port, path, headers, method }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString()))
      response.on('end', () => done({ status: response.statusCode ?? 0, body }))
    })
    request.on('error', fail)
    request.end()
  })
}

/** Writes raw bytes to the port and returns everything the server answers before it closes. */
function raw(bytes: Buffer | string): Promise<string> {
  return new Promise((done) => {
    const socket = netConnect(server.port, '127.0.0.1')
    let answer = ''
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')))
    socket.on('error', () => done(answer))
    socket.on('close', () => done(answer))
    socket.on('connect', () => socket.end(bytes))
    setTimeout(() => socket.destroy(), 5000)
  })
}

interface Options {
  query?: string
  headers?: Record<string, string>
  protocols?: string[]
}

/** Opens a socket; resolves with it when open, or with the HTTP status that refused it. */
function connect({ query = '', headers = { origin: ownOrigin() }, protocols = [] }: Options = {}): Promise<WebSocket | number> {
  return new Promise((done, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws${query}`, protocols, { headers })
    ws.on('open', () => done(ws))
    ws.on('unexpected-response', (_request, response) => done(response.statusCode ?? 0))
    ws.on('error', fail)
  })
}

/** A socket that holds the token as the page sends it. */
async function authorized(): Promise<WebSocket> {
  const ws = await connect({ protocols: ['tunedeck', `tunedeck.token.${server.token}`] })
  if (typeof ws === 'number') throw new Error(`a good WebSocket was refused with ${ws}`)
  return ws
}

/** Sends one request and waits for the response with its id. */
function call(ws: WebSocket, route: string, input: unknown, id: number): Promise<WireResponse> {
  return new Promise((done) => {
    const onMessage = (data: Buffer): void => {
      const message = JSON.parse(data.toString()) as WireFromHost
      if (message.kind === 'response' && message.id === id) {
        ws.off('message', onMessage)
        done(message)
      }
    }
    ws.on('message', onMessage)
    ws.send(JSON.stringify({ kind: 'request', id, route, input }))
  })
}

/** Resolves with the close code once the server has closed the socket. */
function closed(ws: WebSocket): Promise<number> {
  return new Promise((done) => {
    if (ws.readyState === WebSocket.CLOSED) return done(-1)
    ws.on('error', () => undefined)
    ws.on('close', (code) => done(code))
  })
}

/** The server still serves the page and a WebSocket round trip. */
async function stillServes(): Promise<void> {
  expect((await get('/')).status).toBe(200)
  const ws = await authorized()
  const answer = await call(ws, 'queue.get', {}, 99)
  expect(answer.ok).toBe(true)
  ws.close()
}

describe('serve under attack', () => {
  it('refuses WebSockets without the right token, or from a foreign Host or Origin', async () => {
    const token = server.token
    const cases: Array<[string, Options, number]> = [
      ['no token', {}, 401],
      ['a wrong token in the query', { query: '?token=wrong' }, 401],
      [
        'a wrong token as a subprotocol',
        { protocols: ['tunedeck', `tunedeck.token.${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`] },
        401,
      ],
      ['a wrong bearer token', { headers: { origin: ownOrigin(), authorization: 'Bearer nope' } }, 401],
      [
        'the token as a cookie, which serve no longer reads',
        { headers: { origin: ownOrigin(), cookie: `tunedeck_token_${server.port}=${token}` } },
        401,
      ],
      ['a token prefix only', { query: `?token=${token.slice(0, 16)}` }, 401],
      ['a foreign Origin without the token', { headers: { origin: 'http://evil.example' } }, 401],
      ['a foreign Origin with a wrong token', { query: '?token=wrong', headers: { origin: 'http://evil.example' } }, 401],
      ['an Origin that only starts like ours', { query: `?token=${token}`, headers: { origin: `${ownOrigin()}.evil.example` } }, 403],
      ['a null Origin', { query: `?token=${token}`, headers: { origin: 'null' } }, 403],
      ['a foreign Host with the token', { query: `?token=${token}`, headers: { host: `evil.example:${server.port}` } }, 403],
    ]
    for (const [what, options, status] of cases) {
      const answer = await connect(options)
      tried(`WebSocket with ${what}`, typeof answer !== 'number')
      if (typeof answer !== 'number') answer.close()
      expect(answer, what).toBe(status)
    }
    await stillServes()
  })

  it("takes another Tunedeck's page (a foreign Origin) on the token's paths only, and only with the token", async () => {
    const other = 'http://127.0.0.1:1'
    const socket = await connect({ query: `?token=${server.token}`, headers: { origin: other } })
    expect(typeof socket, 'a WebSocket from another Tunedeck page with the token').not.toBe('number')
    if (typeof socket !== 'number') socket.close()
    const wrong = await get('/api/token', { origin: other, authorization: 'Bearer wrong' })
    expect(wrong.status).toBe(401)
    const good = await get('/api/token', { origin: other, authorization: `Bearer ${server.token}` })
    expect(good.status).toBe(200)
    const preflight = await new Promise<{ status: number; allow: string | undefined }>((done, fail) => {
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/download/ticket',
          method: 'OPTIONS',
          headers: { origin: other, 'access-control-request-method': 'POST' },
        },
        (response) => {
          response.resume()
          done({ status: response.statusCode ?? 0, allow: response.headers['access-control-allow-origin'] as string | undefined })
        },
      )
      request.on('error', fail)
      request.end()
    })
    expect(preflight).toEqual({ status: 204, allow: other })
    const ticket = await get('/download/ticket?path=/etc/passwd', { origin: other }, 'POST')
    tried('a download ticket from a foreign Origin without the token', ticket.status === 200)
    expect(ticket.status).toBe(401)
    // The desktop app's page drives a remote serve too; another custom scheme is no Tunedeck page.
    const app = await connect({ query: `?token=${server.token}`, headers: { origin: 'app://tunedeck' } })
    expect(typeof app).not.toBe('number')
    if (typeof app !== 'number') app.close()
    const otherScheme = await connect({ query: `?token=${server.token}`, headers: { origin: 'app://tunedeck.evil' } })
    tried('a WebSocket from app://tunedeck.evil with the token', typeof otherScheme !== 'number')
    if (typeof otherScheme !== 'number') otherScheme.close()
    expect(otherScheme).toBe(403)
    // The page's files stay same-origin: another page may not read them.
    expect((await get('/index.html', { origin: other })).status).toBe(403)
  })

  it('refuses foreign Hosts and Origins, traversal and planted symlinks over HTTP', async () => {
    const refusals: Array<[string, string, Record<string, string>, number]> = [
      ['a foreign Host (DNS rebinding)', '/', { host: `attacker.example:${server.port}` }, 403],
      ['a foreign Origin', '/index.html', { origin: 'http://evil.example' }, 403],
      ['dot-dot', '/../secret.txt', {}, 404],
      ['encoded dot-dot', '/%2e%2e/secret.txt', {}, 404],
      ['an encoded slash', '/..%2fsecret.txt', {}, 404],
      ['a nested encoded slash', '/assets/..%2f..%2fsecret.txt', {}, 404],
      ['double encoding', '/%252e%252e/secret.txt', {}, 404],
      ['a backslash', '/..%5csecret.txt', {}, 404],
      ['a NUL byte', '/index.html%00.txt', {}, 404],
      ['a malformed escape', '/%E0%A4%A', {}, 404],
      ['a planted file symlink', '/planted.txt', {}, 404],
      ['a planted folder symlink', '/planted-folder/secret.txt', {}, 404],
    ]
    for (const [what, path, headers, status] of refusals) {
      const answer = await get(path, headers)
      tried(`HTTP ${what}`, answer.status === 200 || answer.body.includes(secret))
      expect(answer.status, what).toBe(status)
      expect(answer.body).not.toContain(secret)
    }
    // An upload without the token (or with a wrong one) is refused before a byte is stored.
    for (const [what, headers] of [
      ['an upload without token', {}],
      ['an upload with a wrong token', { authorization: `Bearer ${'x'.repeat(32)}` }],
    ] as const) {
      const upload = await get('/upload/dataset?name=train.jsonl', headers, 'POST')
      tried(`HTTP ${what}`, upload.status !== 401)
      expect(upload.status, what).toBe(401)
    }
    const posted = await get('/', {}, 'POST')
    tried('HTTP POST', posted.status !== 405)
    expect(posted.status).toBe(405)
    await stillServes()
  })

  it('answers oversized and malformed HTTP with an error, not a crash', async () => {
    const huge = await raw(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Padding: ${'a'.repeat(64 * 1024)}\r\n\r\n`)
    tried('HTTP with 64 KB of headers', !/^HTTP\/1\.1 431/.test(huge))
    expect(huge).toMatch(/^HTTP\/1\.1 431/)
    const garbage = await raw('\x16\x03\x01\x00\xa5 not http at all\r\n\r\n')
    tried('bytes that are not HTTP', !/^HTTP\/1\.1 400/.test(garbage))
    expect(garbage).toMatch(/^HTTP\/1\.1 400/)
    const upgradeToNowhere = await raw(
      `GET /elsewhere HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
    )
    tried('a WebSocket upgrade on another path', !/^HTTP\/1\.1 404/.test(upgradeToNowhere))
    expect(upgradeToNowhere).toMatch(/^HTTP\/1\.1 404/)
    await stillServes()
  })

  it('closes only the one socket that sends a malformed or oversized frame', async () => {
    const bystander = await authorized()
    const frames: Array<[string, (ws: WebSocket) => void]> = [
      // FIN + RSV1 with no extension agreed and an empty payload: the review's two bytes c1 00.
      [
        'a frame with RSV1 set (c1 00)',
        (ws) => (ws as unknown as { _socket: NodeJS.WritableStream })._socket.write(Buffer.from([0xc1, 0x00])),
      ],
      ['an unmasked frame', (ws) => (ws as unknown as { _socket: NodeJS.WritableStream })._socket.write(Buffer.from([0x81, 0x01, 0x41]))],
      ['a message over the payload limit', (ws) => ws.send(Buffer.alloc(2 * 1024 * 1024, 0x20))],
    ]
    for (const [what, send] of frames) {
      const ws = await authorized()
      const code = closed(ws)
      send(ws)
      const result = await code
      tried(`WebSocket ${what}`, result === -1)
      expect([1002, 1006, 1009], what).toContain(result)
    }
    // The other connection saw nothing of it.
    expect((await call(bystander, 'jobs.list', {}, 5)).ok).toBe(true)
    bystander.close()
    await stillServes()
  })

  it('answers malformed messages with invalid_input', async () => {
    const ws = await authorized()
    const replies: WireResponse[] = []
    ws.on('message', (data: Buffer) => replies.push(JSON.parse(data.toString()) as WireResponse))
    const messages = [
      '{not json',
      'null',
      '[]',
      '"request"',
      '{"kind":"request"}',
      '{"kind":"request","id":1}',
      '{"kind":"event","id":2,"route":"jobs.list"}',
    ]
    for (const message of messages) ws.send(message)
    await call(ws, 'jobs.explode', {}, 3).then((reply) => replies.push(reply))
    await expect.poll(() => replies.length).toBeGreaterThanOrEqual(messages.length + 1)
    for (const reply of replies) {
      tried(`a malformed message`, reply.ok)
      expect(reply.ok).toBe(false)
      if (!reply.ok) expect(reply.error.code).toBe('invalid_input')
    }
    ws.close()
    await stillServes()
  })

  it('refuses dataset and model paths outside the roots with one message for missing and not allowed', async () => {
    const ws = await authorized()
    const outside: Array<[string, string, unknown, string]> = [
      ['a preview of /etc/passwd', 'datasets.preview', { path: '/etc/passwd' }, 'path'],
      ['a preview outside the roots', 'datasets.preview', { path: join(outsideDir, 'secret.jsonl') }, 'path'],
      ['a preview through ..', 'datasets.preview', { path: `${allowedDir}/../outside/secret.jsonl` }, 'path'],
      ['a preview through a planted file symlink', 'datasets.preview', { path: join(allowedDir, 'planted.jsonl') }, 'path'],
      [
        'a preview through a planted folder symlink',
        'datasets.preview',
        { path: join(allowedDir, 'planted-folder', 'secret.jsonl') },
        'path',
      ],
      ['an import through a planted file symlink', 'datasets.import', { path: join(allowedDir, 'planted.jsonl') }, 'path'],
      ['an import of /etc/passwd', 'datasets.import', { path: '/etc/passwd' }, 'path'],
      ['a preview of a missing file', 'datasets.preview', { path: join(allowedDir, 'missing.jsonl') }, 'path'],
      [
        'a job on a dataset outside',
        'jobs.create',
        { model: { selftest: true }, dataset: { path: join(outsideDir, 'secret.jsonl') } },
        'dataset.path',
      ],
      [
        'a job on a planted dataset link',
        'jobs.create',
        { model: { selftest: true }, dataset: { path: join(allowedDir, 'planted.jsonl') } },
        'dataset.path',
      ],
      [
        'a job on a model outside',
        'jobs.create',
        { model: { path: join(outsideDir, 'model') }, dataset: { path: join(allowedDir, 'train.jsonl') } },
        'model.path',
      ],
      [
        'a job on a model in /etc',
        'jobs.create',
        { model: { path: '/etc' }, dataset: { path: join(allowedDir, 'train.jsonl') } },
        'model.path',
      ],
      ['an adapter import from outside', 'adapters.import', { path: join(outsideDir, 'secret.jsonl') }, 'path'],
      ['an adapter import through a planted link', 'adapters.import', { path: join(allowedDir, 'planted.jsonl') }, 'path'],
    ]
    const messages = new Set<string>()
    let id = 10
    for (const [what, route, input, field] of outside) {
      const reply = await call(ws, route, input, (id += 1))
      tried(what, reply.ok)
      expect(reply.ok, what).toBe(false)
      if (reply.ok) continue
      expect(JSON.stringify(reply)).not.toContain(secret)
      expect(reply.error.code).toBe('invalid_input')
      const message = fieldErrorsOf(reply.error)[field] ?? ''
      expect(message, what).toMatch(/^no file Tunedeck may read at /)
      messages.add(message.replace(/at .* choose/, 'at … choose'))
    }
    // Missing and not allowed read the same, so a refusal tells nothing of what exists.
    expect(messages.size).toBe(1)
    // An export writes only inside the roots, whether the job exists or not.
    for (const [what, destination, route] of [
      ['an export into /etc', '/etc/cron.d/tunedeck.zip', 'exports.start'],
      ['an export through a planted folder link', join(allowedDir, 'planted-folder', 'out.zip'), 'exports.start'],
      ['an adapter export into /etc', '/etc/cron.d/tunedeck.zip', 'adapters.export'],
    ]) {
      const input = route === 'exports.start' ? { jobId: 'any', destination } : { adapterId: 'any', destination }
      const reply = await call(ws, route!, input, (id += 1))
      tried(what!, reply.ok)
      expect(reply.ok, what).toBe(false)
      if (!reply.ok) expect(fieldErrorsOf(reply.error).destination, what).toMatch(/^no folder Tunedeck may write to for /)
    }
    const good = await call(ws, 'datasets.preview', { path: join(allowedDir, 'train.jsonl') }, 50)
    if (!good.ok) throw new Error(good.error.message)
    expect(good.output).toMatchObject({ ok: true, rows: 1 })
    ws.close()
  })

  it('bounds sockets and waiting requests, so a flooding client slows only itself', async () => {
    const flooder = await authorized()
    const others: WebSocket[] = []
    // The connection limit is 6: the flooder, five more, then refusals.
    for (let index = 0; index < 5; index += 1) others.push(await authorized())
    for (let index = 0; index < 3; index += 1) {
      const refused = await connect({ protocols: ['tunedeck', `tunedeck.token.${server.token}`] })
      tried('one WebSocket too many', typeof refused !== 'number')
      if (typeof refused !== 'number') refused.close()
      expect(refused).toBe(503)
    }
    const finished: string[] = []
    const preview = { path: join(allowedDir, 'train.jsonl') }
    // 2 running plus 4 waiting fit; the rest are refused at once as busy.
    const flood = Array.from({ length: 10 }, (_, index) =>
      call(flooder, 'datasets.preview', preview, 100 + index).then((reply) => {
        finished.push(`flood ${index}`)
        return reply
      }),
    )
    const polite = others[0] as WebSocket
    const quick = await call(polite, 'jobs.list', {}, 200)
    finished.push('other list')
    const theirs = await call(polite, 'datasets.preview', preview, 201)
    finished.push('other preview')
    expect(quick.ok && theirs.ok).toBe(true)
    const replies = await Promise.all(flood)
    const busy = replies.filter((reply) => !reply.ok)
    for (let index = 0; index < busy.length; index += 1) tried('a request over the queue bound', false)
    expect(busy).toHaveLength(4)
    for (const reply of busy) if (!reply.ok) expect(reply.error.message).toMatch(/Too many requests waiting on this connection/)
    // The other client's preview ran in its turn, before most of the flood.
    const done = finished.filter((name) => name.startsWith('flood') && replies[Number(name.split(' ')[1])]?.ok)
    expect(finished.indexOf('other preview')).toBeLessThan(finished.indexOf(done[3] ?? 'missing'))
    expect(finished.indexOf('other list')).toBeLessThan(finished.indexOf(done[0] ?? 'missing'))
    for (const ws of [flooder, ...others]) ws.close()
    await stillServes()
  })

  it('let no bad request through', () => {
    process.stdout.write(
      `security: ${tally.tried} bad requests tried, ${tally.accepted.length} accepted${tally.accepted.length ? `: ${tally.accepted.join('; ')}` : ''}\n`,
    )
    expect(tally.tried).toBeGreaterThan(40)
    expect(tally.accepted).toEqual([])
  })
})
