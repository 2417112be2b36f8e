/**
 * A mix of datasets from the browser UI served by `serve`: two files dropped into the library
 * (48 OpenAI chats and 24 Alpaca rows), the second added to the form's mix beside the first at
 * weight 0.5, and the form shows the rows of each (24 of 48, 24 of 24), the total and the step
 * count; the GPUs field (in Advanced on a machine without several GPUs) shows the global batch
 * and changes the steps; the self-test model then trains on the mix to completion.
 *
 *   npx electron-vite build && TUNEDECK_PYTHON=... npx vitest run --config vitest.e2e.config.ts tests/e2e/mix.test.ts
 */
import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { dropFile, jobStatus, screenshot, useServedBrowser, withDiagnostics } from './harness'
import { chatFile, progress } from './steps'

const host = useServedBrowser()

/** 24 Alpaca rows whose answers name their row. */
function alpacaFile(): string {
  return Array.from({ length: 24 }, (_, index) =>
    JSON.stringify({ instruction: `Count to ${index}.`, input: '', output: `Up to ${index}, done.` }),
  ).join('\n')
}

/** Drops a file on the window and waits until the library has imported it. */
async function importFile(page: Page, name: string, text: string, imported: number): Promise<void> {
  await dropFile(page, name, text)
  await page.getByTestId('datasets-page').waitFor()
  await expect.poll(() => page.locator('[data-testid="import-task"][data-status="done"]').count(), { timeout: 60_000 }).toBe(imported)
}

/** Chooses the option of a select whose text starts with `name`. */
async function chooseByName(page: Page, testId: string, name: string): Promise<void> {
  const value = await page.getByTestId(testId).locator('option', { hasText: name }).first().getAttribute('value')
  await page.getByTestId(testId).selectOption(value ?? '')
}

const text = (page: Page, testId: string) => page.getByTestId(testId).textContent()

describe('a mix of datasets', () => {
  it('adds two library datasets with weights, shows the mix and the steps, and trains on it', { timeout: 600_000 }, async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'mix', async () => {
      await importFile(page, 'support-chats.jsonl', chatFile(48), 1)
      await importFile(page, 'counting.jsonl', alpacaFile(), 2)

      await page.getByTestId('new-job-button').click()
      await page.getByTestId('model-selftest').check()
      await page.getByTestId('job-name').fill('e2e mix')
      await page.getByTestId('epochs').fill('1')
      await chooseByName(page, 'dataset-library', 'support-chats')
      await chooseByName(page, 'mix-add', 'counting')
      await expect.poll(() => page.getByTestId('mix-row').count()).toBe(1)
      await page.getByTestId('dataset-weight').fill('0.5')

      // The preview draws the mix as the trainer will: half of the 48 chats, all 24 Alpaca rows.
      const parts = page.getByTestId('mix-part')
      await expect.poll(() => parts.count(), { timeout: 120_000 }).toBe(2)
      await expect.poll(() => parts.nth(0).textContent(), { timeout: 60_000 }).toBe('support-chats.jsonlOpenAI messages0.524 of 48 rows')
      expect(await parts.nth(1).textContent()).toBe('counting.jsonlAlpaca (instruction / input / output)124 of 24 rows')
      // 48 rows, unpacked (the self-test's setting), 8 to a batch: 6 optimizer steps.
      await expect.poll(() => text(page, 'mix-total'), { timeout: 60_000 }).toBe('Total48 rows, 6 optimizer steps')
      expect(await text(page, 'step-estimate')).toContain('6 optimizer steps')

      // No GPU here: the GPUs field is in Advanced, the global batch beside it.
      await page.getByTestId('advanced').locator('summary').click()
      expect(await page.getByTestId('advanced').getByTestId('gpus').isVisible()).toBe(true)
      expect(await text(page, 'global-batch')).toBe('Global batch 8 = 8 per device × 1 GPU × 1 accumulation')
      await page.getByTestId('gpus').fill('2')
      await page.getByTestId('gradient-accumulation').fill('2')
      await expect.poll(() => text(page, 'global-batch')).toBe('Global batch 32 = 8 per device × 2 GPUs × 2 accumulation')
      // 48 rows in steps of 32: 2 steps.
      await expect.poll(() => text(page, 'mix-total')).toBe('Total48 rows, 2 optimizer steps')
      await page.screenshot({ path: '/tmp/mix-form.png', fullPage: true })
      await screenshot(page, 'mix-form.png')
      // Back to one process on the CPU for the run itself.
      await page.getByTestId('gpus').fill('')
      await page.getByTestId('gradient-accumulation').fill('')
      await expect.poll(() => text(page, 'mix-total')).toBe('Total48 rows, 6 optimizer steps')

      await page.getByTestId('submit-job').click()
      await page.getByTestId('job-page').waitFor({ timeout: 30_000 })
      await expect.poll(() => jobStatus(page), { timeout: 300_000, interval: 500 }).toBe('completed')
      expect(await progress(page)).toEqual({ step: 6, total: 6 })
    })
  })
})
