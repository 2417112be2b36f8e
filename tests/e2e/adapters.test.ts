/**
 * The Adapters page in the browser: two self-test jobs trained from the form, combined exactly
 * (each weighted by its training examples, the result's rank the sum of theirs), the result
 * listed, exported to a zip, that zip uploaded back from the browser's file picker as a second adapter, chatted
 * with beside its base model, and a new job started from the combined adapter that completes.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { askChat, createSelftestJob, jobStatus, repoDir, screenshot, useServedBrowser, withDiagnostics } from './harness'
import { rowStatus } from './steps'

const host = useServedBrowser()

describe('the adapter library in the browser', () => {
  it('combines two jobs exactly, exports the result and imports it back', async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'adapters', async () => {
      const ids = [await createSelftestJob(page, { name: 'e2e adapter one' }), await createSelftestJob(page, { name: 'e2e adapter two' })]
      for (const id of ids) await expect.poll(() => rowStatus(page, id), { timeout: 180_000, interval: 500 }).toBe('completed')

      await page.getByTestId('nav-adapters').click()
      await expect.poll(() => new URL(page.url()).hash).toBe('#/adapters')
      for (const id of ids) await page.locator(`[data-testid="combine-pick"][data-key="job:${id}"]`).check()
      // The self-test jobs train on the same rows: equal examples, equal weights.
      await expect
        .poll(() => page.getByTestId('combine-weight').allTextContents())
        .toEqual([expect.stringMatching(/\d+ examples, weight 50\.0%/), expect.stringMatching(/\d+ examples, weight 50\.0%/)])
      await page.getByTestId('combine-mode-exact').check()
      const rankText = (await page.getByTestId('combine-rank').textContent()) ?? ''
      const rank = /rank (\d+): the sum of theirs/.exec(rankText)?.[1]
      expect(rank, rankText).toBeDefined()
      await page.getByTestId('combine-name').fill('e2e both')
      await page.getByTestId('combine-submit').click()
      await expect
        .poll(() => page.getByTestId('adapters-message').textContent(), { timeout: 60_000 })
        .toBe(`Combined into "e2e both" (rank ${rank}).`)
      const row = page.getByTestId('adapter-row')
      await expect.poll(() => row.count()).toBe(1)
      expect(await row.locator('td').nth(2).textContent()).toBe(rank)
      await screenshot(page, 'adapters.png')

      // What the host would refuse is not offered: job one (rank 16) with the combined adapter in Average mode.
      const bothKey = `adapter:${await row.getAttribute('data-adapter-id')}`
      await page.locator(`[data-testid="combine-pick"][data-key="job:${ids[0]}"]`).check()
      await page.locator(`[data-testid="combine-pick"][data-key="${bothKey}"]`).check()
      await page.getByTestId('combine-mode-average').check()
      await expect
        .poll(() => page.getByTestId('combine-problem').textContent(), { timeout: 30_000 })
        .toBe(
          `Library adapter "e2e both" differs from job "e2e adapter one" in its rank: ${rank} against 16; Average mode averages every tensor, so the ranks must be equal: pick adapters of one rank.`,
        )
      expect(await page.getByTestId('combine-rank').count()).toBe(0)
      expect(await page.getByTestId('combine-submit').isDisabled()).toBe(true)
      await screenshot(page, 'adapters-refused.png')
      for (const key of [`job:${ids[0]}`, bothKey]) await page.locator(`[data-testid="combine-pick"][data-key="${key}"]`).uncheck()

      await row.getByTestId('adapter-export').click()
      await expect
        .poll(() => page.getByTestId('adapters-message').textContent(), { timeout: 60_000 })
        .toMatch(/^Exported to .*e2e both\.zip\.$/)
      const exported = ((await page.getByTestId('adapters-message').textContent()) ?? '').replace(/^Exported to /, '').replace(/\.$/, '')
      // Brought back as a browser user would: the zip chosen in the file picker and uploaded.
      await page.getByTestId('import-file').setInputFiles(exported)
      await expect.poll(() => page.getByTestId('adapters-message').textContent(), { timeout: 60_000 }).toBe('Imported "e2e both".')
      await expect.poll(() => row.count()).toBe(2)

      // Chat with the imported adapter (newest, first) beside its base model: both answers stream to their end.
      await row.first().getByTestId('adapter-chat').click()
      await page.getByTestId('chat-view').waitFor()
      expect(new URL(page.url()).hash).toMatch(/^#\/chat\/adapter\/a[0-9a-z]+$/)
      await askChat(page, 'What is two plus two?', { temperature: '0', maxTokens: '12' })
      const panes = page.getByTestId('chat-pane')
      const labelsAndEnds = () =>
        panes.evaluateAll((nodes) => nodes.map((node) => [node.getAttribute('data-label'), node.getAttribute('data-state')]))
      await expect.poll(labelsAndEnds, { timeout: 120_000 }).toEqual([
        ['e2e both', expect.stringMatching(/^(eos|length)$/)],
        ['Base model', expect.stringMatching(/^(eos|length)$/)],
      ])
      expect(await page.getByTestId('chat-conversation').allTextContents()).toEqual(['What is two plus two?'])
      await screenshot(page, 'chat-library-adapter.png')
      await page.getByTestId('nav-adapters').click()

      // A new job from the combined adapter: its base and rank fixed, the dataset asked.
      await row.first().getByTestId('adapter-new-job-button').click()
      await page.getByTestId('adapter-new-job-dataset').fill(join(repoDir, 'resources', 'selftest', 'dataset.jsonl'))
      await page.getByTestId('adapter-new-job').locator('button[type="submit"]').click()
      await page.getByTestId('job-page').waitFor({ timeout: 30_000 })
      await expect.poll(() => jobStatus(page), { timeout: 180_000, interval: 500 }).toBe('completed')
    })
  })
})
