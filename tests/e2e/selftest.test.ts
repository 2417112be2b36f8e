/**
 * The self-test job end to end in a browser: the page takes serve's token out
 * of its address and the WebSocket refuses a client without it, the form starts the tiny model on CPU, the loss chart and the
 * terminal fill live, the job completes, and a reload brings it all back.
 * The form previews a dataset with the trainer's loader as its path is typed.
 * Leaves test-results/selftest.png and test-results/new-job.png (the form with a preview).
 * The README's docs/screenshot.png is written only by `npm run screenshot` (scripts/screenshot.mjs),
 * which names it in TUNEDECK_SCREENSHOT: a test run never changes the checkout.
 */
import { copyFileSync, existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { chartPoints, createSelftestJob, jobStatus, repoDir, screenshot, terminalRows, useServedBrowser, withDiagnostics } from './harness'

const host = useServedBrowser()

describe('self-test job in the browser', () => {
  it('takes the token out of the address bar, and refuses the WebSocket without it', async () => {
    const { origin, url } = host.served()
    expect(new URL(url).hash).toMatch(/^#token=[\w-]{32,}$/)
    const page = host.page()
    await page.goto(url)
    await page.getByTestId('new-job-button').waitFor()
    expect(page.url()).not.toContain('token')
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${origin.replace('http:', 'ws:')}/ws`, { headers: { origin } })
      socket.on('open', () => (socket.close(), resolve(101)))
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0))
      socket.on('error', reject)
    })
    expect(status).toBe(401)
  })

  it('shows the host’s field errors beside the fields they name', async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await page.getByTestId('new-job-button').click()
    // Client-side range check first: nothing is sent.
    await page.getByTestId('lora-rank').fill('0')
    await page.getByTestId('submit-job').click()
    await expect.poll(() => page.getByTestId('field-error-lora.rank').textContent()).toContain('from 1 to 1024')
    await page.getByTestId('lora-rank').fill('')
    // Then a model folder that does not exist: the host names the field.
    await page.getByTestId('model-custom').check()
    await page.getByTestId('model-path').fill('/nonexistent/model-folder')
    await page.getByTestId('dataset-path').fill('/nonexistent/train.jsonl')
    await page.getByTestId('submit-job').click()
    await expect.poll(() => page.getByTestId('field-error-model.path').textContent()).toContain('/nonexistent/model-folder')
  })

  it('previews a dataset file as the trainer reads it, and names a file it cannot read', async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'dataset-preview', async () => {
      await page.getByTestId('new-job-button').click()
      await page.getByTestId('model-custom').check()
      await page.getByTestId('model-path').fill('/models/any-model')
      // The method, format and 4-bit choices are there with their defaults.
      expect(await page.getByTestId('method').inputValue()).toBe('sft')
      expect(await page.getByTestId('dataset-format').inputValue()).toBe('auto')
      expect(await page.getByTestId('quantization').isChecked()).toBe(false)

      await page.getByTestId('dataset-path').fill('/nonexistent/train.jsonl')
      await expect
        .poll(() => page.getByTestId('dataset-preview-error').textContent(), { timeout: 60_000 })
        .toContain('/nonexistent/train.jsonl')

      // A preset fills the settings and shows what it is for.
      await page.getByTestId('preset').selectOption('basic')
      await expect.poll(() => page.getByTestId('preset-description').textContent()).toMatch(/starting point/)
      expect(await page.getByTestId('lora-rank').inputValue()).toBe('16')
      expect(await page.getByTestId('epochs').inputValue()).toBe('3')

      const identity = resolve(repoDir, '..', 'shared', 'datasets', 'identity.json')
      if (!existsSync(identity)) {
        console.log(`skipped the preview of ${identity}: the file is absent`)
        return
      }
      await page.getByTestId('dataset-path').fill(identity)
      await expect.poll(() => page.getByTestId('dataset-preview-format').textContent(), { timeout: 60_000 }).toBe('alpaca')
      expect(await page.getByTestId('dataset-preview-counts').textContent()).toBe('91 rows · 91 usable · 0 bad')
      expect(await page.getByTestId('dataset-preview-error').count()).toBe(0)
      expect(await page.getByTestId('dataset-preview-records').innerText()).toMatch(/^user: hi\s+assistant: Hello!/)
      // The whole form, preview included: the page scrolls inside the window, so make the window tall.
      await page.setViewportSize({ width: 1280, height: 1300 })
      await screenshot(page, 'new-job.png')
      await page.setViewportSize({ width: 1280, height: 800 })

      // Choosing another format reads the file again: it has no text column, so no row fits.
      await page.getByTestId('dataset-format').selectOption('text')
      await expect
        .poll(
          async () =>
            (await page.getByTestId('dataset-preview').innerText()) +
            ((await page.getByTestId('dataset-preview-error').count()) ? 'file error' : ''),
          { timeout: 60_000 },
        )
        .toMatch(/0 usable|file error/)
      // Leave the form so the next test starts from a fresh one.
      await page.goto(host.served().url)
    })
  })

  it('trains the self-test model with a live chart and terminal, and keeps them after a reload', async () => {
    const page = host.page()
    await withDiagnostics(page, host.served(), 'selftest', async () => {
      const started = Date.now()
      const jobId = await createSelftestJob(page, { name: 'e2e self-test' })
      expect(jobId).not.toBe('')

      await expect.poll(() => chartPoints(page), { timeout: 120_000, interval: 500 }).toBeGreaterThanOrEqual(5)
      await expect.poll(() => jobStatus(page), { timeout: 180_000, interval: 500 }).toBe('completed')
      const trainedSeconds = (Date.now() - started) / 1000
      // A completed job allows no action.
      for (const action of ['pause', 'resume', 'cancel', 'checkpoint']) {
        expect(await page.getByTestId(`action-${action}`).isDisabled(), action).toBe(true)
      }
      const points = await chartPoints(page)
      const steps = (await page.getByTestId('job-step').textContent()) ?? ''
      expect(steps).toMatch(/^(\d+) \/ \1\b/)
      expect(points).toBe(Number(steps.split(' / ')[0]))

      // The trainer's own output reaches xterm.js.
      await expect.poll(async () => Number(await page.getByTestId('terminal').getAttribute('data-chars'))).toBeGreaterThan(0)
      expect(await terminalRows(page)).toMatch(/step \d+\/\d+ \| loss/)

      // The sidebar row shows the finished job.
      const row = page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`)
      await expect.poll(() => row.getByTestId('job-row-status').textContent()).toBe('completed')

      await page.reload()
      await page.getByTestId('job-page').waitFor()
      await expect.poll(() => chartPoints(page)).toBe(points)
      expect(await jobStatus(page)).toBe('completed')
      await expect.poll(async () => Number(await page.getByTestId('terminal').getAttribute('data-chars'))).toBeGreaterThan(0)
      await expect.poll(() => terminalRows(page)).toMatch(/step \d+\/\d+ \| loss/)

      const file = await screenshot(page, 'selftest.png')
      if (process.env.TUNEDECK_SCREENSHOT) copyFileSync(file, process.env.TUNEDECK_SCREENSHOT)
      console.log(`self-test: ${points} points, completed ${trainedSeconds.toFixed(1)} s after submit`)
    })
  })
})
