/**
 * Pause and resume from the job page: the trainer stops at a checkpoint, the
 * job shows paused with that checkpoint listed, resume continues the same job
 * past the pause step, a named checkpoint can be saved on the way, and the
 * chart ends with exactly one point per step. Then a new job starts from the
 * named checkpoint's weights, with the model and LoRA shape locked.
 */
import { describe, expect, it } from 'vitest'
import { chartPoints, createSelftestJob, jobStatus, screenshot, useServedBrowser, withDiagnostics } from './harness'
import { progress } from './steps'

const host = useServedBrowser()

describe('pause and resume in the browser', () => {
  it('pauses a running self-test job, resumes it and sees it complete', async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'pause-resume', async () => {
      // Fifteen epochs (180 steps, seconds on an idle CPU) so that it still runs when the button is pressed.
      await createSelftestJob(page, { name: 'e2e pause-resume', epochs: '15' })
      await expect.poll(() => chartPoints(page), { timeout: 120_000, interval: 250 }).toBeGreaterThanOrEqual(3)
      expect(await jobStatus(page)).toBe('running')
      // The job page shows the values that run (config.json): the self-test's own, not the schema's defaults.
      expect(await page.getByTestId('job-summary').textContent()).toContain('lr 0.01 · batch 8 · 15 epochs')
      expect(await page.getByTestId('action-resume').isDisabled()).toBe(true)

      await page.getByTestId('action-pause').click()
      await expect.poll(() => jobStatus(page), { timeout: 120_000, interval: 250 }).toBe('paused')
      const paused = await progress(page)
      expect(paused.step).toBeGreaterThanOrEqual(3)
      expect(paused.step).toBeLessThan(paused.total)
      expect(await page.getByTestId('action-pause').isDisabled()).toBe(true)
      expect(await page.getByTestId('action-checkpoint').isDisabled()).toBe(true)
      // The pause left a checkpoint to resume from.
      await expect.poll(() => page.locator('[data-testid="checkpoint-row"]').count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(1)
      await screenshot(page, 'pause-resume-paused.png')

      await page.getByTestId('action-resume').click()
      await expect.poll(() => jobStatus(page), { timeout: 120_000, interval: 250 }).toBe('running')
      await expect.poll(() => chartPoints(page), { timeout: 120_000, interval: 250 }).toBeGreaterThan(paused.step)

      // A named checkpoint through the inline form, while it runs.
      await page.getByTestId('action-checkpoint').click()
      await page.getByTestId('checkpoint-name').fill('e2e-named')
      await page.getByTestId('checkpoint-save').click()

      await expect.poll(() => jobStatus(page), { timeout: 240_000, interval: 500 }).toBe('completed')
      const done = await progress(page)
      expect(done.step).toBe(paused.total)
      // One point per step: the steps re-logged after the checkpoint replaced, not doubled.
      expect(await chartPoints(page)).toBe(done.total)
      await expect.poll(() => page.locator('[data-testid="checkpoint-row"][data-name="e2e-named"]').count(), { timeout: 15_000 }).toBe(1)
      await screenshot(page, 'pause-resume.png')
      const sourceId = await page.getByTestId('job-page').getAttribute('data-job-id')

      // A new job from those weights: the form says where it starts and locks what comes from the checkpoint.
      await page.locator('[data-testid="checkpoint-row"][data-name="e2e-named"]').getByTestId('checkpoint-new-job').click()
      await expect
        .poll(() => page.getByTestId('init-from').textContent())
        .toContain('Starting from e2e pause-resume / e2e-named: base model and LoRA shape come from the checkpoint')
      expect(await page.getByTestId('model-selftest').count()).toBe(0)
      expect(await page.getByTestId('lora-rank').isDisabled()).toBe(true)
      expect(await page.getByTestId('lora-rank').inputValue()).toBe('16')
      await page.getByTestId('job-name').fill('e2e from checkpoint')
      await page.getByTestId('epochs').fill('1')
      await screenshot(page, 'new-job-from-checkpoint.png')
      await page.getByTestId('submit-job').click()
      await expect.poll(() => page.getByTestId('job-page').getAttribute('data-job-id'), { timeout: 30_000 }).not.toBe(sourceId)
      expect(await page.getByTestId('job-name').textContent()).toBe('e2e from checkpoint')
      await expect.poll(() => jobStatus(page), { timeout: 240_000, interval: 500 }).toBe('completed')
    })
  })
})
