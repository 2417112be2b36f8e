/**
 * The Models page in the browser against a real `serve` whose huggingface_hub talks to the local
 * stand-in of the Hub (tests/fixtures/hub/server.py, HF_ENDPOINT): a hub id downloads with a
 * progress line and lands in the list with its parameters and chat template; its memory check
 * shows the LoRA and QLoRA estimates; a gated model says which page to open; the new-job form's
 * picker fills model.path with the downloaded hub id.
 * Leaves test-results/models-page.png.
 *
 *   npx electron-vite build && TUNEDECK_PYTHON=... npx vitest run --config vitest.e2e.config.ts tests/e2e/models.test.ts
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoDir, screenshot, useServedBrowser, withDiagnostics } from './harness'

const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-models-e2e-'))
const python = process.env.TUNEDECK_PYTHON ?? 'python3'
let hub: ChildProcess | undefined
let endpoint = ''

// Registered before the host starts, so that serve inherits HF_ENDPOINT and the cache.
beforeAll(async () => {
  const model = join(workDir, 'tiny')
  execFileSync(python, ['-m', 'tunedeck_trainer', 'make-tiny-model', '--out', model], {
    env: { ...process.env, PYTHONPATH: join(repoDir, 'python-runtime') },
  })
  hub = spawn(
    python,
    [
      join(repoDir, 'tests', 'fixtures', 'hub', 'server.py'),
      '--repo',
      `tiny-org/tiny-chat=${model}`,
      '--repo',
      `tiny-org/tiny-gated=${model}`,
      '--gated',
      'tiny-org/tiny-gated',
      '--delay',
      '0.02',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const line = await new Promise<string>((resolve) => createInterface({ input: hub!.stdout! }).once('line', resolve))
  endpoint = `http://127.0.0.1:${line.split(' ')[1]}`
  for (const key of Object.keys(process.env)) if (key.startsWith('HF_')) delete process.env[key]
  Object.assign(process.env, { HF_ENDPOINT: endpoint, HF_HUB_CACHE: join(workDir, 'hub-cache'), HF_HOME: join(workDir, 'hf-home') })
}, 120_000)

const host = useServedBrowser()

afterAll(() => {
  hub?.kill()
  rmSync(workDir, { recursive: true, force: true })
})

describe('Models page', () => {
  it('downloads a model, lists it, checks its memory, and offers it to the new-job form', async () => {
    const page = host.page()
    await withDiagnostics(page, host.served(), 'models', async () => {
      await page.goto(host.served().url)
      await page.getByTestId('nav-models').click()
      await page.getByTestId('models-page').getByText('No models yet').waitFor({ timeout: 60_000 })

      await page.getByTestId('hub-id').fill('tiny-org/tiny-chat')
      await page.getByTestId('download-start').click()
      const download = page.locator('[data-testid="download"][data-hub-id="tiny-org/tiny-chat"]')
      await expect.poll(() => download.getAttribute('data-state'), { timeout: 60_000 }).toBe('done')
      expect(await download.getByTestId('download-status').innerText()).toMatch(/^Downloaded \d+(\.\d)? KB$/)

      const row = page.getByTestId('model-row').filter({ hasText: 'tiny-org/tiny-chat' })
      await row.waitFor({ timeout: 60_000 })
      expect(await row.getByTestId('model-parameters').innerText()).toBe('201K')
      expect(await row.innerText()).toContain('LlamaForCausalLM')
      // Every listed model is estimated at the default settings without a click.
      await row
        .getByTestId('model-fit')
        .getByText(/^LoRA .* MB/)
        .waitFor({ timeout: 120_000 })
      expect(await row.getByTestId('model-fit').innerText()).toMatch(/QLoRA \d+(\.\d)? MB/)
      expect(await row.innerText()).toContain('packing: yes')

      await page.getByTestId('hub-id').fill('tiny-org/tiny-gated')
      await page.getByTestId('download-start').click()
      const gated = page.locator('[data-testid="download"][data-hub-id="tiny-org/tiny-gated"]')
      await expect.poll(() => gated.getAttribute('data-state'), { timeout: 60_000 }).toBe('failed')
      expect(await gated.getByTestId('download-status').innerText()).toContain('accept its licence')
      expect(await gated.locator('a').getAttribute('href')).toBe(`${endpoint}/tiny-org/tiny-gated`)
      await screenshot(page, 'models-page.png')

      await page.getByTestId('new-job-button').click()
      await page.getByTestId('model-custom').check()
      await page.getByTestId('model-picker').selectOption('tiny-org/tiny-chat')
      expect(await page.getByTestId('model-path').inputValue()).toBe('tiny-org/tiny-chat')
    })
  }, 300_000)
})
