/**
 * Data read as its author meant it, in real Chromium against `serve` (issue 19): a header-less CSV
 * dropped on the window is imported, not refused; the Datasets page opens its Read as… editor,
 * which proposes "the first row is data" (columns column_1..n) beside the file's first rows and
 * suggests a feedback mapping; the user maps it, and the preview shows the kept reading and each
 * answer's tokens marked desirable or undesirable. A preference file's preview shows its chosen
 * and rejected answers, each learned after the masked prompt.
 *
 *   npx electron-vite build && TUNEDECK_PYTHON=... npx vitest run --config vitest.e2e.config.ts tests/e2e/reading.test.ts
 */
import { describe, expect, it } from 'vitest'
import { dropFile, screenshot, useServedBrowser, withDiagnostics } from './harness'

const host = useServedBrowser()

const headerless = ['What is 2+2?,4,true', 'Name a colour.,Blue,true', 'Capital of France?,Berlin,false'].join('\n') + '\n'
const pairs = [
  { question: 'Greet me.', better: 'Hello there!', worse: 'Go away.' },
  { question: '2+2?', better: '4', worse: '5' },
]

describe('Read as… on the Datasets page', () => {
  it('imports a header-less CSV, maps its columns, and previews the kept reading with feedback masks', { timeout: 240_000 }, async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'reading', async () => {
      await dropFile(page, 'graded answers.csv', headerless)
      await page.getByTestId('datasets-page').waitFor()
      await expect.poll(() => page.getByTestId('import-task').first().getAttribute('data-status'), { timeout: 60_000 }).toBe('done')
      expect(await page.getByTestId('import-message').first().textContent()).toBe(
        'graded answers.csv: imported; its format could not be told, so choose how to read it in Read as… below.',
      )
      const row = page.getByTestId('dataset-row').filter({ hasText: 'not yet known' })
      await expect.poll(() => row.count()).toBe(1)

      // The editor opened by itself: it says why, proposes the first row as data and suggests a mapping.
      const editor = page.getByTestId('dataset-reading')
      await editor.waitFor()
      expect(await editor.getByTestId('reading-unread').textContent()).toContain('Tunedeck could not tell how to read graded answers.csv')
      await editor.getByTestId('reading-first-row-data').waitFor({ timeout: 60_000 })
      expect(await editor.getByTestId('reading-first-row-data').textContent()).toContain('the columns are named column_1 to column_3')
      expect(await editor.getByTestId('reading-sample').locator('th').allTextContents()).toEqual(['column_1', 'column_2', 'column_3'])
      expect(await editor.getByTestId('reading-sample').locator('tbody tr').first().locator('td').allTextContents()).toEqual([
        'What is 2+2?',
        '4',
        'true',
      ])
      await expect.poll(() => editor.getByTestId('reading-format').inputValue()).toBe('feedback')
      const mapped = async (): Promise<string[]> => {
        const fields = await editor
          .getByTestId('column-field')
          .evaluateAll((nodes) => nodes.map((node) => (node as unknown as { value: string }).value))
        const columns = await editor
          .getByTestId('column-name')
          .evaluateAll((nodes) => nodes.map((node) => (node as unknown as { value: string }).value))
        return fields.map((field, index) => `${field}<-${columns[index]}`).sort()
      }
      expect(await mapped()).toEqual(['completion<-column_2', 'label<-column_3', 'prompt<-column_1'])
      await screenshot(page, 'reading-editor.png')

      // The user changes the mapping by hand (drops one, adds it back), then reads it that way.
      await editor.getByTestId('column-remove').first().click()
      await editor.getByTestId('column-add').click()
      const added = editor.getByTestId('column-pair').last()
      await added.getByTestId('column-field').selectOption('label')
      await added.getByTestId('column-name').fill('column_3')
      expect(await mapped()).toEqual(['completion<-column_2', 'label<-column_3', 'prompt<-column_1'])
      await editor.getByTestId('reading-save').click()

      // Kept with the dataset: its row shows the format and counts, its preview the reading and the masks.
      const saved = page.getByTestId('dataset-row').filter({ hasText: 'feedback' })
      await expect.poll(() => saved.count(), { timeout: 60_000 }).toBe(1)
      expect(await saved.getByTestId('dataset-rows').textContent()).toBe('3')
      await page.getByTestId('library-reading').waitFor({ timeout: 120_000 })
      expect(await page.getByTestId('library-reading').textContent()).toBe(
        'Kept with the dataset: read as feedback; prompt from column_1, completion from column_2, label from column_3.',
      )
      const figures = page.getByTestId('token-figure')
      await figures.first().waitFor({ timeout: 120_000 })
      expect(
        await figures.evaluateAll((nodes) => nodes.map((node) => (node as unknown as { dataset: { side?: string } }).dataset.side)),
      ).toEqual(['desirable', 'desirable'])
      const first = figures.first()
      expect((await first.locator('[data-learned="true"]').allTextContents()).join('')).toBe('4<|im_end|>')
      expect((await first.locator('[data-learned="false"]').allTextContents()).join('')).toContain('What is 2+2?')
      expect(await first.getByTestId('token-side').textContent()).toBe('Desirable answer (label true): learned toward')
      await first.evaluate((node) => (node as unknown as { scrollIntoView(options: object): void }).scrollIntoView({ block: 'start' }))
      await screenshot(page, 'reading-preview.png')
    })
  })

  it("shows a preference dataset's chosen and rejected answers in its preview", { timeout: 240_000 }, async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'reading-pairs', async () => {
      await dropFile(
        page,
        'pairs.jsonl',
        pairs.map((pair) => JSON.stringify({ prompt: pair.question, chosen: pair.better, rejected: pair.worse })).join('\n'),
      )
      await page.getByTestId('datasets-page').waitFor()
      const row = page.getByTestId('dataset-row').filter({ hasText: 'preference' })
      await expect.poll(() => row.count(), { timeout: 60_000 }).toBe(1)
      await row.getByTestId('dataset-preview-button').click()
      const figures = page.getByTestId('token-figure')
      await figures.first().waitFor({ timeout: 120_000 })
      expect(
        await figures.evaluateAll((nodes) => nodes.map((node) => (node as unknown as { dataset: { side?: string } }).dataset.side)),
      ).toEqual(['chosen', 'rejected'])
      const learned = async (index: number): Promise<string> =>
        (await figures.nth(index).locator('[data-learned="true"]').allTextContents()).join('')
      expect([await learned(0), await learned(1)]).toEqual(['Hello there!<|im_end|>', 'Go away.<|im_end|>'])
      const masked = (await figures.nth(1).locator('[data-learned="false"]').allTextContents()).join('')
      expect(masked).toBe('<|im_start|>user↵\nGreet me.<|im_end|>↵\n<|im_start|>assistant↵\n')
      expect(await figures.nth(1).getByTestId('token-side').textContent()).toBe('Rejected answer: learned away from')
      await figures
        .first()
        .evaluate((node) => (node as unknown as { scrollIntoView(options: object): void }).scrollIntoView({ block: 'start' }))
      await screenshot(page, 'reading-pairs.png')
    })
  })
})
