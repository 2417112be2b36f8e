/**
 * A job paused and resumed to the end on the same page: while paused its export offers the
 * pause's checkpoint (the only weights there are); once completed it defaults to the final
 * adapter, whatever the page chose before, so the zip holds the trained weights.
 */
import { describe, expect, it } from 'vitest'
import { chartPoints, createSelftestJob, jobStatus, screenshot, useServedBrowser, withDiagnostics } from './harness'

const host = useServedBrowser()

describe('export after a pause', () => {
  it('defaults to the final adapter once the resumed job completes', async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'export-after-pause', async () => {
      await createSelftestJob(page, { name: 'e2e paused export', epochs: '6' })
      await expect.poll(() => chartPoints(page), { timeout: 300_000, interval: 250 }).toBeGreaterThanOrEqual(2)
      await page.getByTestId('action-pause').click()
      await expect.poll(() => jobStatus(page), { timeout: 300_000, interval: 250 }).toBe('paused')
      await expect.poll(() => page.getByTestId('export-source').inputValue(), { timeout: 60_000 }).toMatch(/^pause-\d+$/)
      const pause = await page.getByTestId('export-source').inputValue()
      await expect
        .poll(() => page.getByTestId('export-destination').inputValue(), { timeout: 60_000 })
        .toMatch(new RegExp(`e2e paused export-${pause}\\.zip$`))

      await page.getByTestId('action-resume').click()
      await expect.poll(() => jobStatus(page), { timeout: 900_000, interval: 500 }).toBe('completed')
      await expect.poll(() => page.getByTestId('export-source').inputValue(), { timeout: 60_000 }).toBe('')
      const total = Number(/\/ (\d+)/.exec((await page.getByTestId('job-step').textContent()) ?? '')?.[1])
      expect(await page.getByTestId('export-source').locator('option:checked').textContent()).toBe(`Final adapter (step ${total})`)
      await expect.poll(() => page.getByTestId('export-destination').inputValue(), { timeout: 60_000 }).toMatch(/e2e paused export\.zip$/)
      await screenshot(page, 'export-after-pause.png')
    })
  })
})
