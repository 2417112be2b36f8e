/**
 * The queue in the browser: with the queue stopped, two self-test jobs wait
 * as #1 and #2; moving the second up makes it #1, and once the queue is
 * started it trains first while the other still waits.
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createSelftestJob, screenshot, useServedBrowser, withDiagnostics } from './harness'

const host = useServedBrowser()

/** The sidebar's status badge of one job. */
async function rowStatus(page: Page, jobId: string): Promise<string> {
  return (await page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`).getByTestId('job-row-status').textContent())?.trim() ?? ''
}

/** "#1" under a queued job's row, or '' when it is not queued. */
async function queuePosition(page: Page, jobId: string): Promise<string> {
  const controls = page.locator(`[data-testid="queue-controls"][data-job-id="${jobId}"]`)
  return (await controls.count()) === 0 ? '' : ((await controls.getByTestId('queue-position').textContent())?.trim() ?? '')
}

describe('the job queue in the browser', () => {
  it('keeps jobs waiting while stopped, reorders them, and runs them in the new order', async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'queue', async () => {
      const toggle = page.getByTestId('queue-toggle')
      await toggle.waitFor()
      expect(await toggle.getAttribute('data-running')).toBe('true')
      await toggle.click()
      await expect.poll(() => page.getByTestId('queue-state').textContent()).toBe('Queue on hold')
      expect(await toggle.textContent()).toBe('Run the queue')

      const first = await createSelftestJob(page, { name: 'e2e queue first', epochs: '1' })
      const second = await createSelftestJob(page, { name: 'e2e queue second', epochs: '1' })
      await expect.poll(() => queuePosition(page, first)).toBe('#1')
      await expect.poll(() => queuePosition(page, second)).toBe('#2')
      expect(await rowStatus(page, first)).toBe('queued')
      expect(await rowStatus(page, second)).toBe('queued')
      // The ends of the queue cannot move further.
      const controls = (jobId: string) => page.locator(`[data-testid="queue-controls"][data-job-id="${jobId}"]`)
      expect(await controls(first).getByTestId('queue-move-up').isDisabled()).toBe(true)
      expect(await controls(second).getByTestId('queue-move-down').isDisabled()).toBe(true)

      await controls(second).getByTestId('queue-move-up').click()
      await expect.poll(() => queuePosition(page, second)).toBe('#1')
      await expect.poll(() => queuePosition(page, first)).toBe('#2')
      await screenshot(page, 'queue.png')

      // The order survives a reload: it is the host's, not the window's.
      await page.reload()
      await expect.poll(() => queuePosition(page, second)).toBe('#1')
      await expect.poll(() => page.getByTestId('queue-state').textContent()).toBe('Queue on hold')

      await page.getByTestId('queue-toggle').click()
      await expect.poll(() => page.getByTestId('queue-state').textContent()).toBe('Queue running')
      // The moved job starts first; one job at a time, so the other is still waiting, now #1.
      await expect.poll(() => rowStatus(page, second), { timeout: 60_000, interval: 200 }).not.toBe('queued')
      expect(await rowStatus(page, first)).toBe('queued')
      await expect.poll(() => queuePosition(page, first)).toBe('#1')

      await expect.poll(() => rowStatus(page, second), { timeout: 180_000, interval: 500 }).toBe('completed')
      await expect.poll(() => rowStatus(page, first), { timeout: 180_000, interval: 500 }).toBe('completed')
      expect(await queuePosition(page, first)).toBe('')
    })
  })
})
