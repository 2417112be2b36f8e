/**
 * The new-job form shows, in each field left empty, the value the job will run with: for the
 * self-test model its own settings (resources/selftest/job.json: learning rate 0.01, batch 8),
 * for a model folder the defaults. "Change and run again" opens the form filled with what a
 * finished job ran with, and the job page of the new run shows the changed values.
 */
import { describe, expect, it } from 'vitest'
import { jobStatus, screenshot, useServedBrowser, withDiagnostics } from './harness'

const host = useServedBrowser()

const placeholder = (page: import('playwright-core').Page, testId: string) => page.getByTestId(testId).getAttribute('placeholder')

describe('the new-job form tells what will run', () => {
  it("shows the self-test's values for the self-test model and the defaults for a model folder", async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'form-values', async () => {
      await page.getByTestId('new-job-button').click()
      await page.getByTestId('model-selftest').check()
      await expect.poll(() => placeholder(page, 'learning-rate'), { timeout: 30_000 }).toBe('0.01')
      expect(await placeholder(page, 'batch-size')).toBe('8')
      expect(await placeholder(page, 'max-seq-length')).toBe('128')
      await page.getByTestId('advanced').locator('summary').click()
      expect(await page.getByTestId('packing').locator('option').first().textContent()).toBe("Self-test's (off)")
      await screenshot(page, 'form-values-selftest.png')

      await page.getByTestId('model-custom').check()
      expect(await placeholder(page, 'learning-rate')).toBe('0.0002')
      expect(await placeholder(page, 'batch-size')).toBe('4')
      expect(await page.getByTestId('packing').locator('option').first().textContent()).toBe('Default (on)')
    })
  })

  it('runs a finished job again with a change, from the form filled with its settings', async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'rerun-edit', async () => {
      await page.getByTestId('new-job-button').click()
      await page.getByTestId('model-selftest').check()
      await page.getByTestId('job-name').fill('e2e rerun')
      await page.getByTestId('epochs').fill('1')
      await page.getByTestId('learning-rate').fill('0.005')
      await page.getByTestId('submit-job').click()
      await page.getByTestId('job-page').waitFor({ timeout: 30_000 })
      await expect.poll(() => jobStatus(page), { timeout: 600_000, interval: 500 }).toBe('completed')

      await page.getByTestId('action-rerun-edit').click()
      await page.getByTestId('new-job-form').waitFor()
      await expect.poll(() => page.getByTestId('job-name').inputValue(), { timeout: 30_000 }).toBe('e2e rerun (2)')
      expect(await page.getByTestId('learning-rate').inputValue()).toBe('0.005')
      expect(await page.getByTestId('epochs').inputValue()).toBe('1')
      expect(await page.getByTestId('batch-size').inputValue()).toBe('8')
      await page.getByTestId('epochs').fill('2')
      await screenshot(page, 'rerun-edit.png')
      await page.getByTestId('submit-job').click()
      await expect.poll(() => page.getByTestId('job-name').textContent(), { timeout: 30_000 }).toBe('e2e rerun (2)')
      expect(await page.getByTestId('job-summary').textContent()).toContain('lr 0.005 · batch 8 · 2 epochs')
      await page.getByTestId('action-cancel').click()
      await page.getByTestId('cancel-confirm').click()
      await expect.poll(() => jobStatus(page), { timeout: 120_000, interval: 500 }).toBe('cancelled')
    })
  })
})
