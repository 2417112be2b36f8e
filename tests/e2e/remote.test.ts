/**
 * The page driving another Tunedeck: the page served by serve A connects, from its start page,
 * to serve B (another port on 127.0.0.1, its own data folder) with B's token, through the same
 * WebSocket transport the browser uses. A wrong token and a host that does not answer each get
 * their own message; with the right one a job is started on B, its loss curve drawn and its GPU
 * card shows one block per GPU; the job is bundled for a cluster (the zip downloaded by the
 * browser), B's run imported back from a zip upload, and "This machine" leads back to A.
 *
 * B runs with a stand-in for nvidia-smi first on its PATH that answers two GPUs: a test double
 * at the hardware seam only (this machine has no GPU); everything else is real.
 * Leaves test-results/remote-*.png.
 */
import { chmodSync, copyFileSync, createWriteStream, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import yazl from 'yazl'
import { zipEntries } from '../host/export.helpers'
import {
  chartPoints,
  createSelftestJob,
  jobStatus,
  openBrowser,
  screenshot,
  startServe,
  stopServe,
  withDiagnostics,
  type Served,
} from './harness'

const fakeDir = mkdtempSync(join(tmpdir(), 'tunedeck-fake-smi-'))
let a: Served | undefined
let b: Served | undefined
let browser: Awaited<ReturnType<typeof openBrowser>> | undefined

beforeAll(async () => {
  // nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,clocks.sm,clocks.mem
  const smi = join(fakeDir, 'nvidia-smi')
  writeFileSync(
    smi,
    '#!/bin/sh\nprintf "0, NVIDIA GeForce RTX 4090, 97, 20110, 24564, 71, 402.50, 2520, 10501\\n1, NVIDIA GeForce RTX 4090, 88, 19870, 24564, 66, 377.10, 2505, 10501\\n"\n',
  )
  chmodSync(smi, 0o755)
  a = await startServe()
  b = await startServe({ env: { PATH: `${fakeDir}:${process.env.PATH ?? ''}` } })
  browser = await openBrowser()
})

afterAll(async () => {
  await browser?.close()
  await stopServe(a)
  await stopServe(b)
  rmSync(fakeDir, { recursive: true, force: true })
})

/** Saves the screenshot under test-results/ and a copy under /tmp for a look. */
async function shot(name: string): Promise<void> {
  const page = browser!.page
  await screenshot(page, name)
  await page.screenshot({ path: join(tmpdir(), name) })
}

/** Zips `folder` as `zipFile` with paths relative to it (a run's job folder, as a user would zip it). */
async function zipOf(folder: string, zipFile: string): Promise<void> {
  const zip = new yazl.ZipFile()
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const file = join(dir, name)
      if (statSync(file).isDirectory()) walk(file)
      else zip.addFile(file, relative(folder, file))
    }
  }
  walk(folder)
  zip.end()
  await pipeline(zip.outputStream, createWriteStream(zipFile))
}

async function connectTo(address: string, token: string): Promise<void> {
  const page = browser!.page
  await page.getByTestId('remote-address').fill(address)
  await page.getByTestId('remote-token').fill(token)
  await page.getByTestId('remote-connect').click()
}

describe('the page driving a remote Tunedeck', () => {
  it('says when the token is wrong or no Tunedeck answers, then drives B with its token', async () => {
    const page = browser!.page
    const remote = b!
    await withDiagnostics(page, remote, 'remote-connect', async () => {
      await page.goto(a!.url)
      await page.getByTestId('remote-card').waitFor()
      await shot('remote-start.png')

      await connectTo(remote.origin, 'x'.repeat(43))
      await expect
        .poll(() => page.getByTestId('remote-problem').textContent(), { timeout: 30_000 })
        .toContain(`The Tunedeck at ${remote.origin} refused the token`)
      expect(await page.getByTestId('remote-badge').count()).toBe(0)
      await shot('remote-wrong-token.png')

      await connectTo('http://127.0.0.1:1', 'x'.repeat(43))
      await expect
        .poll(() => page.getByTestId('remote-problem').textContent(), { timeout: 30_000 })
        .toContain('No Tunedeck answered at http://127.0.0.1:1')

      // The address as serve printed it, the token in its fragment.
      await connectTo(remote.url, '')
      await page.getByTestId('remote-badge').waitFor({ timeout: 30_000 })
      expect(await page.getByTestId('remote-badge').textContent()).toContain(new URL(remote.origin).host)
      // The machine card is B's: its data folder (system.info probes B's Python first, slow on a busy machine).
      await expect.poll(() => page.locator('body').innerText(), { timeout: 150_000 }).toContain(remote.dataDir)
      expect(page.url()).not.toContain('token')
      await shot('remote-connected.png')
    })
  }, 300_000)

  it('starts a job on B, follows its loss curve, and shows one GPU block per GPU of the job', async () => {
    const page = browser!.page
    await withDiagnostics(page, b!, 'remote-job', async () => {
      const jobId = await createSelftestJob(page, { epochs: '1', name: 'remote run' })
      expect(readdirSync(join(b!.dataDir, 'jobs'))).toContain(jobId)
      expect(existsSync(join(a!.dataDir, 'jobs', jobId))).toBe(false)
      await expect.poll(() => page.getByTestId('gpu-reading').count(), { timeout: 60_000 }).toBe(2)
      await expect.poll(() => jobStatus(page), { timeout: 240_000 }).toBe('completed')
      expect(await chartPoints(page)).toBeGreaterThan(0)
      expect(await page.getByTestId('gpu-panel').textContent()).toContain('GPUs of this job (2)')
      expect(await page.locator('[data-gpu-index="1"]').textContent()).toContain('88%')
      await page.getByTestId('gpu-panel').scrollIntoViewIfNeeded()
      await shot('remote-job.png')
    })
  }, 300_000)

  it('bundles the job for a cluster and downloads the zip, and imports a run from an uploaded zip', async () => {
    const page = browser!.page
    await withDiagnostics(page, b!, 'remote-bundle', async () => {
      const jobId = (await page.getByTestId('job-page').getAttribute('data-job-id')) ?? ''
      await page.getByTestId('bundle-launcher').selectOption('slurm')
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId('bundle-write').click()])
      // The browser keeps a download under a generated name: give it back the zip's own.
      const work = mkdtempSync(join(tmpdir(), 'tunedeck-run-zip-'))
      const saved = join(work, download.suggestedFilename())
      copyFileSync(await download.path(), saved)
      expect(saved).toMatch(/\.zip$/)
      const names = (await zipEntries(saved)).map((entry) => entry.name)
      const top = names[0]!.split('/')[0]!
      for (const file of ['bundle.json', 'job/config.json', 'torchrun.sh', 'slurm.sbatch', 'skypilot.yaml', 'trainer/requirements.txt'])
        expect(names).toContain(`${top}/${file}`)
      expect(await page.getByTestId('bundle-command').textContent()).toContain('sbatch slurm.sbatch')
      expect(await page.getByTestId('bundle-written').textContent()).toContain(b!.dataDir)
      await page.getByTestId('bundle-panel').scrollIntoViewIfNeeded()
      await shot('remote-bundle.png')

      // A bundle that never ran has no events to bring back: the upload says so.
      await page.getByTestId('import-run-open').click()
      await page.getByTestId('import-run-zip').setInputFiles(saved)
      await expect
        .poll(() => page.getByTestId('import-run-error').textContent(), { timeout: 60_000 })
        .toContain(`${download.suggestedFilename()} holds no events.jsonl`)
      await shot('remote-import-error.png')

      // The job folder B's run wrote, zipped as a user would, comes back as a new completed job.
      const runZip = join(work, 'remote-run.zip')
      await zipOf(join(b!.dataDir, 'jobs', jobId), runZip)
      await page.getByTestId('import-run-zip').setInputFiles(runZip)
      await expect
        .poll(async () => (await page.getByTestId('job-page').getAttribute('data-job-id')) !== jobId, { timeout: 60_000 })
        .toBe(true)
      expect(await page.getByTestId('job-name').textContent()).toBe('Imported from remote-run')
      await expect.poll(() => jobStatus(page), { timeout: 30_000 }).toBe('completed')
      await expect.poll(() => chartPoints(page), { timeout: 30_000 }).toBeGreaterThan(0)
      await page.getByTestId('job-name').scrollIntoViewIfNeeded()
      await shot('remote-imported.png')
      rmSync(work, { recursive: true, force: true })
    })
  }, 180_000)

  it('goes back to this machine', async () => {
    const page = browser!.page
    await withDiagnostics(page, a!, 'remote-back', async () => {
      await page.getByTestId('remote-badge-back').click()
      await expect.poll(() => page.url(), { timeout: 30_000 }).not.toContain('remote=')
      await page.locator('.brand').click()
      await page.getByTestId('remote-card').waitFor({ timeout: 30_000 })
      expect(await page.getByTestId('remote-badge').count()).toBe(0)
      await expect.poll(() => page.locator('body').innerText(), { timeout: 150_000 }).toContain(a!.dataDir)
      expect(await page.locator('.job-row').count()).toBe(0)
      await shot('remote-back.png')
    })
  }, 240_000)
})
