/**
 * serve keeps its token in the data folder (serve-token, 0600) and the next serve on that
 * folder uses it again, so an open tab's client reconnects by itself; --new-token replaces it,
 * and then the tab's client learns that its address no longer works instead of retrying forever.
 * The client is the renderer's own (createWebSocketClient) against the real serve
 * (out/main/serve.js: npm test builds it first; TUNEDECK_PYTHON as for the host tests).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import {
  createWebSocketClient,
  tokenCheckFor,
  type ConnectionState,
  type SocketLike,
  type WebSocketClient,
} from '../../renderer/src/api/websocket'

const serveScript = path.resolve(__dirname, '../../out/main/serve.js')
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunedeck-serve-token-'))
const running = new Set<ChildProcess>()

beforeAll(() => {
  if (!fs.existsSync(serveScript)) throw new Error(`${serveScript} is missing: build first with npx electron-vite build.`)
  if (!process.env.TUNEDECK_PYTHON) throw new Error("Set TUNEDECK_PYTHON to the trainer's Python interpreter.")
})
afterAll(() => {
  for (const child of running) child.kill('SIGKILL')
  fs.rmSync(dataDir, { recursive: true, force: true })
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Starts serve on `port` and the test's data folder; resolves with the token it printed. */
async function startServe(port: number, ...flags: string[]): Promise<{ child: ChildProcess; token: string; stderr: () => string }> {
  const { TUNEDECK_TOKEN: _chosen, ...env } = process.env
  const child = spawn(process.execPath, [serveScript, '--port', String(port), '--data-dir', dataDir, ...flags], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  child.on('exit', () => running.delete(child))
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const token = await new Promise<string>((resolve, reject) => {
    let stdout = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /Tunedeck is serving at http:\/\/127\.0\.0\.1:\d+\/#token=([\w-]+)/.exec(stdout)
      if (match?.[1]) resolve(match[1])
    })
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)))
  })
  return { child, token, stderr: () => stderr }
}

async function stopServe(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  await exited
}

function waitFor(client: WebSocketClient, predicate: (state: ConnectionState) => boolean): Promise<ConnectionState> {
  return new Promise((resolve) => {
    if (predicate(client.state)) return resolve(client.state)
    const stop = client.onConnection((state) => {
      if (predicate(state)) {
        stop()
        resolve(state)
      }
    })
  })
}

describe('serve keeps its token across restarts', () => {
  let port = 0
  let client: WebSocketClient | undefined
  afterAll(() => client?.close())

  it('uses the kept token again, so an open client reconnects by itself', async () => {
    port = await freePort()
    const first = await startServe(port)
    // The data folder is not the default one: serve says how the command line finds it.
    await expect.poll(first.stderr).toContain(`For the tunedeck command line in another shell: export TUNEDECK_DATA_DIR=${dataDir}\n`)
    const file = path.join(dataDir, 'serve-token')
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(first.token)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)

    const origin = `http://127.0.0.1:${port}`
    client = createWebSocketClient({
      url: `ws://127.0.0.1:${port}/ws`,
      token: first.token,
      createSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
      checkToken: tokenCheckFor(origin, first.token),
      minDelay: 50,
      maxDelay: 500,
    })
    await waitFor(client, (state) => state.status === 'open')
    await stopServe(first.child)
    await waitFor(client, (state) => state.status === 'closed')

    const second = await startServe(port)
    expect(second.token).toBe(first.token)
    expect(await waitFor(client, (state) => state.status === 'open')).toEqual({ status: 'open', reconnected: true })
    expect(Array.isArray(await client.request('jobs.list', {}))).toBe(true)
    await stopServe(second.child)
  })

  it('--new-token replaces it, and the open client is told its address changed', async () => {
    if (!client) throw new Error('the first test did not connect')
    const old = fs.readFileSync(path.join(dataDir, 'serve-token'), 'utf8').trim()
    const renewed = await startServe(port, '--new-token')
    expect(renewed.token).not.toBe(old)
    expect(fs.readFileSync(path.join(dataDir, 'serve-token'), 'utf8').trim()).toBe(renewed.token)
    expect(await waitFor(client, (state) => state.status === 'refused')).toEqual({ status: 'refused', reconnected: true })
    // The check answers by the token it is given.
    expect(await tokenCheckFor(`http://127.0.0.1:${port}`, renewed.token)()).toBe('good')
    expect(await tokenCheckFor(`http://127.0.0.1:${port}`, old)()).toBe('refused')
    await stopServe(renewed.child)
  })
})
