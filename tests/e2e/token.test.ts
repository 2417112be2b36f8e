/**
 * A tab left open across serve restarts: the same data folder keeps the token, so the page
 * reconnects by itself; after `serve --new-token` the page says its address changed instead
 * of "reconnecting…" forever.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openBrowser, repoDir, screenshot } from './harness'

const dataDir = mkdtempSync(join(tmpdir(), 'tunedeck-e2e-token-'))
const children = new Set<ChildProcess>()
let browser: Awaited<ReturnType<typeof openBrowser>> | undefined

afterAll(async () => {
  await browser?.close()
  for (const child of children) child.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Starts serve on `port` and the test's data folder; resolves with the address it printed. */
async function serve(port: number, ...flags: string[]): Promise<{ child: ChildProcess; url: string }> {
  const { TUNEDECK_TOKEN: _chosen, ...env } = process.env
  const child = spawn(
    process.execPath,
    [join(repoDir, 'out', 'main', 'serve.js'), '--port', String(port), '--data-dir', dataDir, ...flags],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  children.add(child)
  child.once('exit', () => children.delete(child))
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /Tunedeck is serving at (\S+)/.exec(stdout)
      if (match?.[1]) resolve(match[1])
    })
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)))
  })
  return { child, url }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  await exited
}

describe('a tab across serve restarts', () => {
  it('reconnects with the kept token, and says the address changed after --new-token', async () => {
    const port = await freePort()
    const first = await serve(port)
    browser = await openBrowser()
    const { page } = browser
    await page.goto(first.url)
    await page.getByTestId('new-job-button').waitFor()

    await stop(first.child)
    await page.getByTestId('connection-notice').waitFor({ timeout: 60_000 })
    const second = await serve(port)
    expect(second.url).toBe(first.url)
    // Reconnected by itself: the notice goes, and the page answers again.
    await page.getByTestId('connection-notice').waitFor({ state: 'detached', timeout: 60_000 })

    await stop(second.child)
    await serve(port, '--new-token')
    await expect
      .poll(() => page.getByTestId('connection-notice').textContent(), { timeout: 60_000 })
      .toMatch(/^Tunedeck's address changed: serve was started with a new token/)
    await screenshot(page, 'token-changed.png')
  })
})
