/**
 * Event latency into a real Chromium page running the renderer: the page is
 * open on the job before the trainer starts (the queue is stopped while it
 * loads), a MutationObserver stamps each change of the loss chart's
 * data-points attribute, and each step's latency is its arrival stamp minus
 * the write time the trainer put in its event.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { repoDir, stepWriteTimes, type EventClient, type ServedHost } from './pipeline.setup'

/** Latency of one paced run, ms. */
export interface LatencyResult {
  rate: number
  /** Steps shown in the chart (each with its latency); ``written`` of them were written, ``atClient`` reached the WebSocket client. */
  samples: number
  written: number
  atClient: number
  p50: number
  p99: number
  /** The same at the WebSocket client (Node, beside the host): the host's share. */
  hostP50: number
  hostP99: number
}

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** The value below which `fraction` of the sorted values lie. */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!
}

/** A headless Chromium with a fresh profile, as the e2e tests open it. */
export async function openChromium(): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
  if (!fs.existsSync(path.join(repoDir, 'out', 'renderer', 'index.html')))
    throw new Error('out/renderer is missing: build first with npx electron-vite build')
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tunedeck-bench-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
    ],
  })
  const page = context.pages()[0] ?? (await context.newPage())
  return {
    context,
    page,
    async close() {
      await context.close()
      fs.rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** Opens the served renderer and waits for its first page. */
export async function openApp(page: Page, served: ServedHost): Promise<void> {
  await page.goto(served.server.url)
  await page.waitForSelector('[data-testid="new-job-button"], [data-testid="job-name"]', { timeout: 60_000 })
}

/** Opens the job page in the served renderer and waits for its loss chart. */
export async function openJobPage(page: Page, served: ServedHost, jobId: string): Promise<void> {
  await openApp(page, served)
  // Page code is passed as text: this file compiles without the DOM's types.
  await page.evaluate(`window.location.hash = '#/jobs/${jobId}'`)
  await page.waitForSelector('[data-testid="loss-chart"]', { timeout: 60_000 })
}

/** Runs `paced:<rate>:<seconds>:<MB/s>` with the job page open and returns the step latencies' percentiles. */
export async function measureLatency(
  served: ServedHost,
  client: EventClient,
  options: { rate: number; seconds: number; terminalMegabytesPerSecond: number },
): Promise<LatencyResult> {
  const browser = await openChromium()
  try {
    await client.request('queue.set', { running: false })
    served.scenario.current = `paced:${options.rate}:${options.seconds}:${options.terminalMegabytesPerSecond}`
    const job = await client.request<{ id: string }>('jobs.create', { model: { selftest: true } })
    await openJobPage(browser.page, served, job.id)
    await browser.page.evaluate(`{
      const arrivals = (window.arrivals = [])
      const chart = document.querySelector('[data-testid="loss-chart"]')
      new MutationObserver(() => arrivals.push([Number(chart.getAttribute('data-points')), Date.now()])).observe(chart, { attributes: true, attributeFilter: ['data-points'] })
    }`)
    await client.request('queue.set', { running: true })
    const total = Math.max(1, Math.floor(options.rate * options.seconds))
    // Polled from here: the page's CSP forbids the eval a string waitForFunction needs.
    const deadline = Date.now() + 120_000
    while (
      Number(await browser.page.evaluate(`document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points')`)) < total
    ) {
      if (Date.now() > deadline) throw new Error(`the job page showed fewer than ${total} points after 120 s`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const arrivals = (await browser.page.evaluate('window.arrivals')) as [number, number][]
    const written = stepWriteTimes(path.join(served.dataDir, 'jobs', job.id))
    const latencies: number[] = []
    let shown = 0
    for (const [points, at] of arrivals) {
      for (let step = shown + 1; step <= points; step += 1) {
        const time = written.get(step)
        if (time !== undefined) latencies.push(at - time)
      }
      shown = Math.max(shown, points)
    }
    latencies.sort((a, b) => a - b)
    const atClient = [...(client.stepArrivals.get(job.id) ?? new Map<number, number>())]
      .map(([step, at]) => at - (written.get(step) ?? at))
      .sort((a, b) => a - b)
    return {
      rate: options.rate,
      samples: latencies.length,
      written: written.size,
      atClient: atClient.length,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      hostP50: percentile(atClient, 0.5),
      hostP99: percentile(atClient, 0.99),
    }
  } finally {
    await browser.close()
  }
}
