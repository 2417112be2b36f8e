/**
 * Data in, from the browser UI served by `serve`: a chat file dropped on the
 * window (a real drop event carrying a DataTransfer with the file) is
 * uploaded with the token, checked by the trainer's loader and shown in the
 * dataset library; its preview shows the tokens the trainer learns apart
 * from the masked ones; "Train on it" opens the form on the library dataset,
 * and the self-test model trains on it to the end; the library then lists
 * the job beside the dataset. A second drop of the same bytes adds nothing.
 * A big file's preview shows how far it has been read and stops on Cancel;
 * a save_to_disk folder picked in the browser is uploaded as one tar.
 *
 *   npx electron-vite build && TUNEDECK_PYTHON=... npx vitest run --config vitest.e2e.config.ts tests/e2e/datasets.test.ts
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dropFile, jobStatus, screenshot, useServedBrowser, withDiagnostics } from './harness'
import { chatFile } from './steps'

const host = useServedBrowser()

describe('data in', () => {
  it('drops a file on the window, previews it with masks, and trains the self-test model on it', { timeout: 300_000 }, async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'datasets', async () => {
      const text = chatFile()
      await dropFile(page, 'support-chats.jsonl', text)
      await page.getByTestId('datasets-page').waitFor()
      await expect.poll(() => page.getByTestId('import-task').first().getAttribute('data-status'), { timeout: 60_000 }).toBe('done')
      const row = page.getByTestId('dataset-row').filter({ hasText: 'openai' })
      await expect.poll(() => row.count()).toBe(1)
      expect(await row.getByTestId('dataset-rows').textContent()).toBe('48')

      // The same bytes again: one dataset, said so.
      await dropFile(page, 'copy.jsonl', text)
      await expect
        .poll(() => page.getByTestId('import-message').last().textContent(), { timeout: 60_000 })
        .toContain('already in the library')
      expect(await page.getByTestId('dataset-row').count()).toBe(1)

      // The preview: the assistant's reply is learned, the system and user turns are masked.
      await row.getByTestId('dataset-preview-button').click()
      const example = page.getByTestId('token-example').first()
      await example.waitFor({ timeout: 120_000 })
      const learned = (await example.locator('[data-learned="true"]').allTextContents()).join('')
      const masked = (await example.locator('[data-learned="false"]').allTextContents()).join('')
      expect(learned).toBe('The sky is blue.<|im_end|>')
      expect(masked).toContain('Be brief.')
      expect(masked).toContain('Name the color of the sky.')
      expect(await example.locator('[data-special="true"]').count()).toBeGreaterThan(0)
      await screenshot(page, 'datasets-masks.png')

      // Train on it: the form opens on the library's copy, and the self-test model learns it.
      await row.getByTestId('dataset-train').click()
      await expect.poll(() => page.getByTestId('dataset-path').inputValue()).toContain('/datasets/')
      await page.getByTestId('model-selftest').check()
      await page.getByTestId('epochs').fill('1')
      await page.getByTestId('job-name').fill('trained on dropped data')
      await page.getByTestId('submit-job').click()
      await page.getByTestId('job-page').waitFor({ timeout: 30_000 })
      await expect.poll(() => jobStatus(page), { timeout: 180_000, interval: 500 }).toBe('completed')

      await page.getByTestId('nav-datasets').click()
      await expect.poll(() => page.getByTestId('dataset-row').first().innerText()).toContain('trained on dropped data')

      // The job encoded the data once into the trainer's cache: its size is shown, and Clear frees it.
      const trained = page.getByTestId('dataset-row').first()
      expect(await trained.getByTestId('dataset-encoded').textContent()).toMatch(/^encoded: [\d.]+ (B|KB) Clear$/)
      await trained.getByTestId('dataset-delete-encoded').click()
      await expect.poll(() => trained.getByTestId('dataset-encoded').count()).toBe(0)
    })
  })

  it('shows how far a big file has been read while its tokens are counted, and stops it on Cancel', { timeout: 300_000 }, async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'datasets-big', async () => {
      // About 9 MB of conversations: tens of seconds of tokenising on this machine's cores.
      const file = join(mkdtempSync(join(tmpdir(), 'tunedeck-e2e-big-')), 'big-chats.jsonl')
      const rows = Array.from({ length: 40_000 }, (_, index) =>
        JSON.stringify({
          messages: [
            { role: 'user', content: `Question ${index}?` },
            { role: 'assistant', content: `Answer ${index}. `.repeat(8) },
          ],
        }),
      )
      writeFileSync(file, `${rows.join('\n')}\n`)
      await page.getByTestId('nav-datasets').click()
      await page.getByTestId('dataset-file-input').setInputFiles(file)
      // The name is in an input (renamable): the row is found by its 40,000 rows.
      const row = page.getByTestId('dataset-row').filter({ has: page.getByTestId('dataset-rows').getByText('40000', { exact: true }) })
      await expect.poll(() => row.count(), { timeout: 120_000 }).toBe(1)

      await row.getByTestId('dataset-preview-button').click()
      const progress = page.getByTestId('dataset-preview-progress')
      await expect
        .poll(() => progress.textContent(), { timeout: 60_000 })
        .toMatch(/^Reading big-chats\.jsonl: [\d.]+ [KM]B of [\d.]+ MB \(\d+ %\)$/)
      expect(
        Number(await page.getByRole('progressbar', { name: 'Reading big-chats.jsonl' }).getAttribute('aria-valuenow')),
      ).toBeGreaterThan(0)
      await screenshot(page, 'datasets-preview-progress.png')
      await page.getByTestId('dataset-preview-cancel').click()
      await expect
        .poll(() => page.getByTestId('library-preview-error').textContent(), { timeout: 5000 })
        .toContain('The preview of big-chats.jsonl was cancelled before it read the whole file.')
      // Asked again, it reads from the start.
      await page.getByTestId('dataset-preview-again').click()
      await expect.poll(() => progress.textContent(), { timeout: 60_000 }).toMatch(/^Reading big-chats\.jsonl/)
      await page.getByTestId('dataset-preview-cancel').click()
      await page.getByTestId('library-preview-error').waitFor({ timeout: 5000 })
      rmSync(file)
    })
  })

  it('uploads a save_to_disk folder picked in the browser, packed as one tar, and lists it', { timeout: 120_000 }, async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'datasets-folder', async () => {
      const folder = join(mkdtempSync(join(tmpdir(), 'tunedeck-e2e-folder-')), 'greetings')
      const rows = Array.from({ length: 12 }, (_, index) => ({ text: `Greeting number ${index}.` }))
      const script = 'import json, sys, datasets; datasets.Dataset.from_list(json.loads(sys.argv[1])).save_to_disk(sys.argv[2])'
      execFileSync(process.env.TUNEDECK_PYTHON as string, ['-c', script, JSON.stringify(rows), folder], { stdio: 'pipe' })
      await page.getByTestId('nav-datasets').click()
      await page.getByTestId('dataset-folder-input').setInputFiles(folder)
      await expect
        .poll(() => page.getByTestId('import-message').last().textContent(), { timeout: 60_000 })
        .toBe('greetings: 12 usable rows (text).')
      const row = page.getByTestId('dataset-row').filter({ has: page.getByTestId('dataset-format').getByText('text', { exact: true }) })
      await expect.poll(() => row.count()).toBe(1)
      await screenshot(page, 'datasets-folder.png')
      rmSync(folder, { recursive: true })
    })
  })
})
