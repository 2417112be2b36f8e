/**
 * Comparing and cleaning up runs in the browser: three self-test jobs trained from the form
 * (one with another number of epochs), picked on the Compare page, overlaid on one chart with
 * the setting that differs, reopened from the address; then the job search, and one job
 * deleted from its page, gone from the list and from the disk.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createSelftestJob, screenshot, useServedBrowser, withDiagnostics } from './harness'

const host = useServedBrowser()

async function rowStatus(page: Page, jobId: string): Promise<string> {
  return (await page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`).getByTestId('job-row-status').textContent())?.trim() ?? ''
}

describe('comparing runs in the browser', () => {
  it('overlays three runs, shows the setting that differs, reopens from the address, and deletes one', async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'compare', async () => {
      const ids = [
        await createSelftestJob(page, { name: 'e2e compare one', epochs: '1' }),
        await createSelftestJob(page, { name: 'e2e compare two', epochs: '2', checkpointEvery: '6', keepCheckpoints: '4' }),
        await createSelftestJob(page, { name: 'e2e compare three', epochs: '1' }),
      ]
      for (const id of ids) await expect.poll(() => rowStatus(page, id), { timeout: 180_000, interval: 500 }).toBe('completed')

      // Opened from the third job's page, the comparison starts with that job picked.
      await page.getByTestId('nav-compare').click()
      await expect.poll(() => new URL(page.url()).hash).toBe(`#/compare/${ids[2]}`)
      for (const id of ids) await page.locator(`[data-testid="compare-pick"][data-job-id="${id}"]`).check()
      const order = [ids[2], ids[0], ids[1]]
      const chart = page.getByTestId('compare-chart')
      await expect.poll(() => chart.getAttribute('data-lines')).toBe('3')
      // 12 + 24 + 12 steps: the self-test takes 12 steps an epoch.
      await expect.poll(() => chart.getAttribute('data-points')).toBe('48')
      expect(await page.getByTestId('compare-row').count()).toBe(3)
      const differences = await page
        .getByTestId('compare-difference')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-setting')))
      expect(differences).toEqual(['training.epochs', 'training.checkpointEvery', 'training.keepCheckpoints'])
      // Columns in the order the runs were picked: three, one, two.
      expect(await page.locator('[data-setting="training.epochs"] td').allTextContents()).toEqual(['training.epochs', '1', '1', '2'])
      await page.getByTestId('compare-axis-tokens').click()
      await expect.poll(() => chart.getAttribute('data-points')).toBe('48')
      await screenshot(page, 'compare.png')

      // The address holds the comparison: a reload (or another window) shows the same runs.
      expect(new URL(page.url()).hash).toBe(`#/compare/${order.join(',')}`)
      await page.reload()
      await expect.poll(() => page.getByTestId('compare-chart').getAttribute('data-lines')).toBe('3')

      // Search the list, then delete the third run from its page.
      await page.getByTestId('job-search').fill('two')
      await expect.poll(() => page.getByTestId('job-row').count()).toBe(1)
      await page.getByTestId('job-search').fill('')
      await page.locator(`[data-testid="job-row"][data-job-id="${ids[2]}"]`).click()
      await page.getByTestId('action-delete').click()
      await page.getByTestId('delete-confirm').click()
      await expect.poll(() => page.locator(`[data-testid="job-row"][data-job-id="${ids[2]}"]`).count()).toBe(0)
      expect(existsSync(join(host.served().dataDir, 'jobs', ids[2]!))).toBe(false)
      expect(existsSync(join(host.served().dataDir, 'jobs', ids[0]!))).toBe(true)

      // The second run's four periodic checkpoints, ticked together and deleted at once.
      await page.locator(`[data-testid="job-row"][data-job-id="${ids[1]}"]`).click()
      await expect.poll(() => page.getByTestId('checkpoint-row').count()).toBe(4)
      await page.getByTestId('checkpoints-tick-all').check()
      await page.getByTestId('checkpoints-delete').click()
      await page.getByTestId('checkpoints-delete-confirm').click()
      await expect.poll(() => page.getByTestId('checkpoint-row').count()).toBe(0)
      expect(readdirSync(join(host.served().dataDir, 'jobs', ids[1]!, 'checkpoints')).filter((name) => !name.startsWith('.'))).toEqual([])

      // Run the first again: a new job with its settings, trained to the end.
      await page.locator(`[data-testid="job-row"][data-job-id="${ids[0]}"]`).click()
      await page.getByTestId('action-rerun').click()
      await expect.poll(async () => (await page.getByTestId('job-name').textContent())?.trim()).toBe('e2e compare one (2)')
      await expect
        .poll(async () => (await page.getByTestId('job-status').textContent())?.trim(), { timeout: 120_000, interval: 500 })
        .toBe('completed')
    })
  }, 420_000)
})
