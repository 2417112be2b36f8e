/**
 * What the browser tests share: a real `serve` host as a child process on a
 * free port with its own data folder, and Debian's chromium driven by
 * playwright-core. Nothing is mocked: the jobs run the real trainer on CPU.
 *
 *   npx electron-vite build && TUNEDECK_PYTHON=/path/to/python npm run test:e2e
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'

export const repoDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const resultsDir = join(repoDir, 'test-results')
const serveScript = join(repoDir, 'out', 'main', 'serve.js')
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** A running headless host. */
export interface Served {
  /** The address with the token in its fragment, as printed. */
  url: string
  /** http://127.0.0.1:PORT, without path or token. */
  origin: string
  dataDir: string
  child: ChildProcess
  /** Everything the host wrote to stderr so far, for failure messages. */
  log(): string
}

/** Starts `node out/main/serve.js --port 0` and waits for its "serving at" line; `env` adds to its environment. */
export async function startServe(options: { env?: NodeJS.ProcessEnv } = {}): Promise<Served> {
  if (!existsSync(serveScript)) throw new Error(`${serveScript} is missing: build first with npx electron-vite build.`)
  const python = process.env.TUNEDECK_PYTHON
  if (!python) throw new Error("Set TUNEDECK_PYTHON to the trainer's Python interpreter (the CI does); the e2e tests run the real trainer.")
  const dataDir = mkdtempSync(join(tmpdir(), 'tunedeck-e2e-'))
  // serve limits client paths to its roots: the tests write datasets under the temporary
  // folder and read shared ones beside the checkout (../shared/datasets).
  // shared/ may be a link to elsewhere: allow it by its own path too (roots are compared by real path).
  const roots = ['--allow-path', tmpdir(), '--allow-path', join(repoDir, '..'), '--allow-path', join(repoDir, '..', 'shared')]
  const child = spawn(process.execPath, [serveScript, '--port', '0', '--data-dir', dataDir, ...roots], {
    cwd: repoDir,
    env: { ...process.env, TUNEDECK_PYTHON: python, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no address within 60 s.\nstderr:\n${stderr}`)), 60_000)
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /Tunedeck is serving at (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(stdout)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code} before serving.\nstderr:\n${stderr}`))
    })
  })
  return { url, origin: new URL(url).origin, dataDir, child, log: () => stderr }
}

/** Stops the host (SIGTERM, then SIGKILL after 15 s) and removes its data folder. */
export async function stopServe(served: Served | undefined): Promise<void> {
  if (!served) return
  const { child } = served
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
  }
  rmSync(served.dataDir, { recursive: true, force: true })
}

/** A fresh chromium profile with one 1280x800 page. */
export async function openBrowser(): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'tunedeck-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
  const page = context.pages()[0] ?? (await context.newPage())
  return {
    context,
    page,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** What a test file gets from useServedBrowser: the running host and the browser page. */
export interface ServedBrowser {
  served(): Served
  page(): Page
}

/**
 * Starts `serve` and chromium before the file's tests and stops both after
 * them; call once at the top of a test file. Hooks the file registers later
 * run after the host is up.
 */
export function useServedBrowser(): ServedBrowser {
  let served: Served | undefined
  let browser: Awaited<ReturnType<typeof openBrowser>> | undefined
  beforeAll(async () => {
    served = await startServe()
    browser = await openBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await stopServe(served)
  })
  return {
    served() {
      if (!served) throw new Error('serve is not running: its start in beforeAll failed')
      return served
    },
    page() {
      if (!browser) throw new Error('chromium is not open: its start in beforeAll failed')
      return browser.page
    },
  }
}

/** Saves a screenshot under test-results/ and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, name)
  await page.screenshot({ path: file })
  return file
}

/**
 * Runs a test body; when it fails, saves test-results/<name>-failure.png and
 * adds the host's stderr to the error so the CI log shows what happened.
 */
export async function withDiagnostics(page: Page, served: Served, name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body()
  } catch (error) {
    await screenshot(page, `${name}-failure.png`).catch(() => undefined)
    const text = await page
      .locator('body')
      .innerText()
      .catch(() => '(page unreadable)')
    console.error(`--- ${name}: page text ---\n${text}\n--- host stderr ---\n${served.log().slice(-6000)}`)
    throw error
  }
}

/** The number of points the loss chart draws. */
export async function chartPoints(page: Page): Promise<number> {
  return Number(await page.getByTestId('loss-chart').getAttribute('data-points'))
}

/** The text of the terminal's visible rows, as xterm.js draws them. */
export async function terminalRows(page: Page): Promise<string> {
  return page.locator('[data-testid="terminal"] .xterm-rows').innerText()
}

/** The job page's status badge text. */
export async function jobStatus(page: Page): Promise<string> {
  return (await page.getByTestId('job-status').textContent())?.trim() ?? ''
}

/** Fills and submits the new-job form for the self-test model, then waits for the job page. */
export async function createSelftestJob(
  page: Page,
  settings: { epochs?: string; name?: string; checkpointEvery?: string; keepCheckpoints?: string } = {},
): Promise<string> {
  await page.getByTestId('new-job-button').click()
  await page.getByTestId('model-selftest').check()
  if (settings.name) await page.getByTestId('job-name').fill(settings.name)
  if (settings.epochs) await page.getByTestId('epochs').fill(settings.epochs)
  if (settings.checkpointEvery) await page.getByTestId('checkpoint-every').fill(settings.checkpointEvery)
  if (settings.keepCheckpoints) await page.getByTestId('keep-checkpoints').fill(settings.keepCheckpoints)
  await page.getByTestId('submit-job').click()
  await page.getByTestId('job-page').waitFor({ timeout: 30_000 })
  return (await page.getByTestId('job-page').getAttribute('data-job-id')) ?? ''
}

/** On the Chat page: sets the temperature and the longest answer, then asks `question` (the settings panel opens first when `open`). */
export async function askChat(
  page: Page,
  question: string,
  settings: { temperature: string; maxTokens: string; open?: boolean },
): Promise<void> {
  if (settings.open !== false) await page.getByTestId('chat-settings').locator('summary').click()
  await page.getByTestId('chat-temperature').fill(settings.temperature)
  await page.getByTestId('chat-max-tokens').fill(settings.maxTokens)
  await page.getByTestId('chat-input').fill(question)
  await page.getByTestId('chat-send').click()
}

/** Drops a file named `name` holding `text` on the window, as a user's drag from the desktop would. */
export async function dropFile(page: Page, name: string, text: string): Promise<void> {
  // Written as page code: the test's own TypeScript has no DOM types.
  const transfer = await page.evaluateHandle(
    `(() => { const data = new DataTransfer(); data.items.add(new File([${JSON.stringify(text)}], ${JSON.stringify(name)}, { type: 'application/jsonl' })); return data })()`,
  )
  await page.dispatchEvent('main', 'dragenter', { dataTransfer: transfer })
  await page.getByTestId('drop-overlay').waitFor()
  await page.dispatchEvent('main', 'dragover', { dataTransfer: transfer })
  await page.dispatchEvent('main', 'drop', { dataTransfer: transfer })
}
