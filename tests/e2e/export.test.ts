/**
 * Export from the browser: the self-test trains from the form, the job page's Export section
 * shows the compatibility report and the default destination, a destination that cannot be
 * written is named, one click writes the zip, and the zip is on disk with every file matching
 * its manifest.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { extractZip, zipEntries } from '../host/export.helpers'
import { createSelftestJob, jobStatus, screenshot, useServedBrowser, withDiagnostics } from './harness'
import { downloadExport, sha256 } from './steps'

const host = useServedBrowser()

describe('export in the browser', () => {
  it('exports the trained self-test as a zip checked against its manifest', async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'export', async () => {
      await createSelftestJob(page, { name: 'e2e export', epochs: '1' })
      await expect.poll(() => jobStatus(page), { timeout: 180_000, interval: 500 }).toBe('completed')

      const panel = page.getByTestId('export-panel')
      await panel.waitFor({ timeout: 30_000 })
      await expect.poll(() => page.getByTestId('export-target').count(), { timeout: 60_000 }).toBe(4)
      const loads = await page
        .getByTestId('export-target')
        .evaluateAll((rows) => rows.map((row) => `${row.getAttribute('data-target')}=${row.getAttribute('data-loads')}`))
      expect(loads).toEqual(['peft=true', 'vllm=true', 'llamacpp=true', 'ollama=true'])
      const destination = await page.getByTestId('export-destination').inputValue()
      expect(destination).toBe(join(host.served().dataDir, 'exports', 'e2e export.zip'))

      // The merged option has its own default name.
      await page.getByTestId('export-merged').check()
      expect(await page.getByTestId('export-destination').inputValue()).toBe(
        join(host.served().dataDir, 'exports', 'e2e export-merged.zip'),
      )
      await page.getByTestId('export-merged').uncheck()

      // The merged GGUF: the types offered here, q4_K_M not (no llama-quantize), with the reason shown.
      const ggufOptions = await page
        .getByTestId('gguf-type')
        .locator('option')
        .evaluateAll((options) =>
          options.map(
            (option) => `${(option as unknown as { value: string }).value}=${(option as unknown as { disabled: boolean }).disabled}`,
          ),
        )
      expect(ggufOptions).toEqual(['=false', 'f16=false', 'q8_0=false', 'q4_0=false', 'q4_K_M=true'])
      expect(await page.getByTestId('gguf-type-notes').textContent()).toContain("q4_K_M: needs llama.cpp's llama-quantize on PATH")
      await page.getByTestId('gguf-type').selectOption('q8_0')
      expect(await page.getByTestId('export-destination').inputValue()).toBe(join(host.served().dataDir, 'exports', 'e2e export-q8_0.zip'))
      await page.getByTestId('gguf-type').selectOption('')

      // Base against tuned, saved with the job and shown again when the page is reopened.
      await page.getByTestId('evaluation-rows').fill('4')
      await page.getByTestId('evaluation-tokens').fill('8')
      await page.getByTestId('evaluation-start').click()
      await page.getByTestId('evaluation-tuned').waitFor({ timeout: 240_000 })
      const tunedLoss = Number(await page.getByTestId('evaluation-tuned').locator('td').nth(1).textContent())
      const baseLoss = Number(await page.getByTestId('evaluation-base').locator('td').nth(1).textContent())
      expect(tunedLoss).toBeLessThan(baseLoss)
      await page.reload()
      await page.getByTestId('evaluation-tuned').waitFor({ timeout: 30_000 })
      expect(Number(await page.getByTestId('evaluation-tuned').locator('td').nth(1).textContent())).toBe(tunedLoss)
      await expect.poll(() => page.getByTestId('export-target').count(), { timeout: 60_000 }).toBe(4)

      // A place nothing can be written to is named, and nothing starts.
      await page.getByTestId('export-destination').fill('/proc/tunedeck-e2e.zip')
      await page.getByTestId('export-start').click()
      // serve writes only inside the folders it allows; /proc is not one (the export's own refusal of an
      // unwritable place is tested in tests/host/export.test.ts).
      await expect
        .poll(() => page.getByTestId('export-error').textContent(), { timeout: 30_000 })
        .toMatch(/^destination: no folder Tunedeck may write to for \/proc\/tunedeck-e2e\.zip/)
      await page.getByTestId('export-destination').fill(destination)

      await page.getByTestId('export-start').click()
      await expect.poll(() => page.getByTestId('export-result-path').count(), { timeout: 120_000, interval: 500 }).toBe(1)
      expect(await page.getByTestId('export-result-path').textContent()).toBe(destination)
      expect(await page.getByTestId('export-phase').textContent()).toBe('Done')
      expect(await page.getByTestId('export-error').count()).toBe(0)
      await screenshot(page, 'export.png')

      expect(existsSync(destination)).toBe(true)
      expect(existsSync(`${destination}.partial`)).toBe(false)

      // The browser downloads the zip to its own machine: the same bytes, under the zip's name.
      const download = await downloadExport(page)
      expect(download.name).toBe('e2e export.zip')
      expect(sha256(download.saved)).toBe(sha256(destination))
      // A ticket needs the token, and names only a zip inside serve's allowed folders.
      const ticketUrl = (path: string) => `${host.served().origin}/download/ticket?path=${encodeURIComponent(path)}`
      const token = new URL(host.served().url).hash.replace('#token=', '')
      expect((await fetch(ticketUrl(destination), { method: 'POST' })).status).toBe(401)
      expect((await fetch(ticketUrl('/etc/passwd'), { method: 'POST', headers: { Authorization: `Bearer ${token}` } })).status).toBe(404)
      const names = (await zipEntries(destination)).map((entry) => entry.name)
      expect(names).toContain('adapter/adapter_model.safetensors')
      expect(names).toContain('adapter.gguf')
      const unzipped = mkdtempSync(join(tmpdir(), 'tunedeck-e2e-export-'))
      try {
        await extractZip(destination, unzipped)
        const manifest = JSON.parse(readFileSync(join(unzipped, 'manifest.json'), 'utf8')) as {
          files: Array<{ path: string; bytes: number; sha256: string }>
        }
        expect(manifest.files.map((file) => file.path).sort()).toEqual(names.filter((name) => name !== 'manifest.json').sort())
        for (const file of manifest.files) {
          const data = readFileSync(join(unzipped, file.path))
          expect(data.length, file.path).toBe(file.bytes)
          expect(createHash('sha256').update(data).digest('hex'), file.path).toBe(file.sha256)
        }
      } finally {
        rmSync(unzipped, { recursive: true, force: true })
      }
    })
  })
})
