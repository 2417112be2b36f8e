/**
 * The new-job form shows, in each field left empty, the value the job will run with: for the
 * self-test model its own settings (resources/selftest/job.json: learning rate 0.01, batch 8),
 * for a model folder the defaults, and a preset's values once chosen.
 */
import { describe, expect, it } from 'vitest'
import { screenshot, useServedBrowser, withDiagnostics } from './harness'

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
})
