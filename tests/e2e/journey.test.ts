/**
 * The whole journey of a browser user, in one run against a real `serve`: drop a chat file on
 * the window, train the self-test model on it, pause, resume, let it complete, chat with it,
 * export it and download the zip through the browser, upload that zip back on the Adapters
 * page, combine it with the job's own adapter, then "Change and run again…" with a new
 * learning rate and see the new job run with it. Each step's details are tested in its own
 * file (datasets, pause-resume, chat, export, adapters, form-values); this one checks that
 * they follow each other. Leaves test-results/journey-*.png.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { askChat, chartPoints, dropFile, jobStatus, screenshot, useServedBrowser, withDiagnostics } from './harness'
import { chatFile, downloadExport, progress, sha256 } from './steps'

const host = useServedBrowser()

describe('the journey of a browser user', () => {
  it(
    'drops data, trains, pauses, resumes, chats, exports, uploads the zip back, combines and runs again with a change',
    { timeout: 1_500_000 },
    async () => {
      const page = host.page()
      await page.goto(host.served().url)
      await withDiagnostics(page, host.served(), 'journey', async () => {
        // Data in: 48 chat rows dropped on the window, checked by the trainer's loader.
        await dropFile(page, 'journey-chats.jsonl', chatFile(48))
        await page.getByTestId('datasets-page').waitFor()
        await expect.poll(() => page.getByTestId('import-task').first().getAttribute('data-status'), { timeout: 120_000 }).toBe('done')
        const dataset = page.getByTestId('dataset-row').filter({ hasText: 'openai' })
        await expect.poll(() => dataset.count()).toBe(1)
        expect(await dataset.getByTestId('dataset-rows').textContent()).toBe('48')
        await screenshot(page, 'journey-1-dropped.png')

        // A small job on it: 8 epochs of 6 steps (batch 8), long enough to be paused while it runs.
        await dataset.getByTestId('dataset-train').click()
        await expect.poll(() => page.getByTestId('dataset-path').inputValue()).toContain('/datasets/')
        await page.getByTestId('model-selftest').check()
        await page.getByTestId('job-name').fill('journey')
        await page.getByTestId('epochs').fill('8')
        await page.getByTestId('submit-job').click()
        await page.getByTestId('job-page').waitFor({ timeout: 30_000 })
        const jobId = (await page.getByTestId('job-page').getAttribute('data-job-id')) ?? ''
        expect(await page.getByTestId('job-summary').textContent()).toContain('lr 0.01 · batch 8 · 8 epochs')

        // Pause while it runs, then resume the same job to its end.
        await expect.poll(() => chartPoints(page), { timeout: 300_000, interval: 250 }).toBeGreaterThanOrEqual(2)
        await page.getByTestId('action-pause').click()
        await expect.poll(() => jobStatus(page), { timeout: 300_000, interval: 250 }).toBe('paused')
        const paused = await progress(page)
        expect(paused.step).toBeLessThan(paused.total)
        await expect.poll(() => page.locator('[data-testid="checkpoint-row"]').count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(1)
        await screenshot(page, 'journey-2-paused.png')
        await page.getByTestId('action-resume').click()
        await expect.poll(() => jobStatus(page), { timeout: 600_000, interval: 500 }).toBe('completed')
        const done = await progress(page)
        expect(done.step).toBe(paused.total)
        expect(await chartPoints(page)).toBe(done.total)
        // Completed after a pause: the export offers the final adapter, not the pause's checkpoint.
        await expect.poll(() => page.getByTestId('export-source').inputValue(), { timeout: 60_000 }).toBe('')
        await screenshot(page, 'journey-3-completed.png')

        // Chat: the job's adapter answers beside the base model.
        await page.getByTestId('job-chat').click()
        await page.getByTestId('chat-view').waitFor()
        await askChat(page, 'Name the color of the sky.', { temperature: '0', maxTokens: '16' })
        const panes = page.getByTestId('chat-pane')
        await expect
          .poll(
            () => panes.evaluateAll((nodes) => nodes.map((node) => [node.getAttribute('data-label'), node.getAttribute('data-state')])),
            { timeout: 300_000 },
          )
          .toEqual([
            ['journey', expect.stringMatching(/^(eos|length)$/)],
            ['Base model', expect.stringMatching(/^(eos|length)$/)],
          ])
        expect((await page.getByTestId('chat-pane-text').first().textContent())?.trim().length).toBeGreaterThan(0)
        await screenshot(page, 'journey-4-chat.png')

        // Export, and the zip downloaded by the browser holds the same bytes as the one on the server.
        await page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`).click()
        await page.getByTestId('export-panel').waitFor({ timeout: 60_000 })
        await expect.poll(() => page.getByTestId('export-source').inputValue(), { timeout: 60_000 }).toBe('')
        const destination = await page.getByTestId('export-destination').inputValue()
        expect(destination).toMatch(/journey\.zip$/)
        await page.getByTestId('export-start').click()
        await expect.poll(() => page.getByTestId('export-result-path').count(), { timeout: 300_000, interval: 500 }).toBe(1)
        expect(await page.getByTestId('export-phase').textContent()).toBe('Done')
        const download = await downloadExport(page)
        expect(download.name).toBe('journey.zip')
        expect(sha256(download.saved)).toBe(sha256(destination))
        await screenshot(page, 'journey-5-exported.png')

        // The downloaded zip uploaded back from the Adapters page's file picker.
        await page.getByTestId('nav-adapters').click()
        await page
          .getByTestId('import-file')
          .setInputFiles({ name: download.name, mimeType: 'application/zip', buffer: readFileSync(download.saved) })
        await expect.poll(() => page.getByTestId('adapters-message').textContent(), { timeout: 120_000 }).toBe('Imported "journey".')
        const imported = page.getByTestId('adapter-row')
        await expect.poll(() => imported.count()).toBe(1)
        const importedKey = `adapter:${await imported.getAttribute('data-adapter-id')}`

        // Combined with the job's own adapter: same rank, same examples, so Average mode is offered.
        await page.locator(`[data-testid="combine-pick"][data-key="job:${jobId}"]`).check()
        await page.locator(`[data-testid="combine-pick"][data-key="${importedKey}"]`).check()
        await page.getByTestId('combine-mode-average').check()
        await expect
          .poll(() => page.getByTestId('combine-weight').allTextContents())
          .toEqual([expect.stringMatching(/48 examples, weight 50\.0%/), expect.stringMatching(/48 examples, weight 50\.0%/)])
        expect(await page.getByTestId('combine-problem').count()).toBe(0)
        await page.getByTestId('combine-name').fill('journey combined')
        await page.getByTestId('combine-submit').click()
        await expect
          .poll(() => page.getByTestId('adapters-message').textContent(), { timeout: 120_000 })
          .toMatch(/^Combined into "journey combined"/)
        await expect.poll(() => page.getByTestId('adapter-row').count()).toBe(2)
        await screenshot(page, 'journey-6-combined.png')

        // Run again with one change: the form comes filled with what ran, the learning rate is changed.
        await page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`).click()
        await page.getByTestId('action-rerun-edit').click()
        await page.getByTestId('new-job-form').waitFor()
        await expect.poll(() => page.getByTestId('job-name').inputValue(), { timeout: 30_000 }).toBe('journey (2)')
        expect(await page.getByTestId('epochs').inputValue()).toBe('8')
        expect(await page.getByTestId('dataset-path').inputValue()).toContain('/datasets/')
        await page.getByTestId('learning-rate').fill('0.005')
        await screenshot(page, 'journey-7-rerun-form.png')
        await page.getByTestId('submit-job').click()
        await expect.poll(() => page.getByTestId('job-page').getAttribute('data-job-id'), { timeout: 30_000 }).not.toBe(jobId)
        expect(await page.getByTestId('job-name').textContent()).toBe('journey (2)')
        expect(await page.getByTestId('job-summary').textContent()).toContain('lr 0.005 · batch 8 · 8 epochs')
        await expect.poll(() => jobStatus(page), { timeout: 600_000, interval: 500 }).toBe('completed')
        // The terminal's output scrolls the page down: bring the title and its settings back into view.
        await page.getByTestId('job-name').scrollIntoViewIfNeeded()
        await screenshot(page, 'journey-8-rerun-done.png')
      })
    },
  )
})
