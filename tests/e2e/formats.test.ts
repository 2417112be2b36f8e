/**
 * Every dataset format and every preset, started from the browser's new-job
 * form and trained to the end by the real trainer on CPU with a tiny model:
 * Alpaca (.json), ShareGPT, OpenAI messages with a tool call, prompt /
 * completion and text (.jsonl), a CSV with its own column names (mapped in
 * the Advanced section), Parquet, a save_to_disk folder, plain .txt, DPO
 * preference pairs, and the shared demo files. The form's preview shows the
 * format the trainer's loader detects; each job completes with points on its
 * chart, one job at a time. A CSV with a bad row fails the job naming the
 * line and column (or is skipped when asked), and a folder that is not a
 * dataset is refused beside the dataset field.
 * Leaves test-results/new-job-advanced.png (the form with Advanced open) and
 * new-job-efficient.png (the QLoRA preset chosen).
 *
 *   npx electron-vite build && TUNEDECK_PYTHON=... npx vitest run --config vitest.e2e.config.ts tests/e2e/formats.test.ts
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chartPoints, dropFile, jobStatus, repoDir, screenshot, useServedBrowser, withDiagnostics } from './harness'

const host = useServedBrowser()
const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-formats-'))
const modelDir = join(workDir, 'tiny-model')
/** The shared demo files, by a path relative to the repository as a user may type it (serve runs in the repo). */
const sharedDatasets = '../shared/datasets'
const haveShared = existsSync(resolve(repoDir, sharedDatasets, 'alpaca_en_demo.json'))

/** One job as the user fills the form in. */
interface JobSpec {
  name: string
  dataset: string
  /** The format the preview should show (the trainer's detection). */
  detected: string
  /** The preview's counts, where they tell something. */
  counts?: string
  method?: 'dpo'
  preset?: string
  /** Typed into the form's fields, by test id. */
  fields?: Record<string, string>
  /** Selects and check boxes in the Advanced section, by test id. */
  selects?: Record<string, string>
  checks?: string[]
  columns?: Array<[field: string, column: string]>
  /** What the job should end as. */
  expect?: 'completed' | 'failed'
}

/** Small enough that each job trains a handful of steps on CPU. */
const tiny = { epochs: '1', 'batch-size': '4', 'max-seq-length': '64' }

function python(): string {
  const interpreter = process.env.TUNEDECK_PYTHON
  if (!interpreter) throw new Error('Set TUNEDECK_PYTHON to the trainer’s Python interpreter.')
  return interpreter
}

function runPython(args: string[]): void {
  execFileSync(python(), args, { env: { ...process.env, PYTHONPATH: join(repoDir, 'python-runtime') }, stdio: 'pipe' })
}

function writeJsonl(name: string, rows: unknown[]): string {
  const file = join(workDir, name)
  writeFileSync(file, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
  return file
}

const count = 16
const numbers = Array.from({ length: count }, (_, index) => index + 1)
const alpacaRows = numbers.map((n) => ({ instruction: `What is ${n} plus ${n}?`, input: '', output: `${n} plus ${n} is ${2 * n}.` }))
const sharegptRows = numbers.map((n) => ({
  conversations: [
    { from: 'human', value: `Say the number ${n}.` },
    { from: 'gpt', value: `${n}` },
  ],
}))

/** Writes one small file (or folder) per format the trainer reads; returns their paths. */
function writeDatasets() {
  const alpaca = join(workDir, 'alpaca.json')
  writeFileSync(alpaca, JSON.stringify(alpacaRows, null, 1))
  const sharegpt = writeJsonl('sharegpt.jsonl', sharegptRows)
  const openai = writeJsonl(
    'openai-tools.jsonl',
    numbers.map((n) => ({
      messages: [
        { role: 'system', content: 'You can look up the weather.' },
        { role: 'user', content: `What is the weather in town ${n}?` },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: `call_${n}`, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ town: `town ${n}` }) } },
          ],
        },
        { role: 'tool', tool_call_id: `call_${n}`, content: n % 2 ? 'sunny' : 'rain' },
        { role: 'assistant', content: `It is ${n % 2 ? 'sunny' : 'raining'} in town ${n}.` },
      ],
    })),
  )
  const promptCompletion = writeJsonl(
    'prompt-completion.jsonl',
    numbers.map((n) => ({ prompt: `Count up from ${n}:`, completion: ` ${n + 1} ${n + 2} ${n + 3}` })),
  )
  const text = writeJsonl(
    'text.jsonl',
    numbers.map((n) => ({ text: `Note ${n}: the quick brown fox jumps over ${n} lazy dogs.` })),
  )
  const csvLines = (rows: string[][]) =>
    ['question,answer', ...rows.map((cells) => cells.map((cell) => `"${cell}"`).join(','))].join('\n') + '\n'
  const csv = join(workDir, 'questions.csv')
  writeFileSync(csv, csvLines(numbers.map((n) => [`What is ${n} times two?`, `${2 * n}`])))
  // Line 4 (the third row) has no answer.
  const badCsv = join(workDir, 'bad-row.csv')
  writeFileSync(badCsv, csvLines(numbers.map((n) => [`What is ${n} times three?`, n === 3 ? '' : `${3 * n}`])))
  const parquet = join(workDir, 'alpaca.parquet')
  const saved = join(workDir, 'saved-dataset')
  runPython([
    '-c',
    'import json, sys, pyarrow, pyarrow.parquet as pq; pq.write_table(pyarrow.Table.from_pylist(json.loads(sys.argv[1])), sys.argv[2])',
    JSON.stringify(alpacaRows.map((row) => ({ ...row, system: 'Answer briefly.' }))),
    parquet,
  ])
  runPython([
    '-c',
    'import json, sys, datasets; datasets.Dataset.from_list(json.loads(sys.argv[1])).save_to_disk(sys.argv[2])',
    JSON.stringify(sharegptRows),
    saved,
  ])
  const txt = join(workDir, 'notes.txt')
  writeFileSync(txt, numbers.map((n) => `Paragraph ${n} of the notes.\nIt has two lines about the number ${n}.`).join('\n\n') + '\n')
  const preference = writeJsonl(
    'preference.jsonl',
    numbers.map((n) => ({ prompt: `Is ${n} even?`, chosen: n % 2 ? 'No, it is odd.' : 'Yes, it is even.', rejected: 'I do not know.' })),
  )
  const notDataset = join(workDir, 'just-a-folder')
  mkdirSync(notDataset)
  return { alpaca, sharegpt, openai, promptCompletion, text, csv, badCsv, parquet, saved, txt, preference, notDataset }
}

let files: ReturnType<typeof writeDatasets>

beforeAll(() => {
  runPython(['-m', 'tunedeck_trainer', 'make-tiny-model', '--out', modelDir])
  files = writeDatasets()
})

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true })
})

/** Text fields inside the Advanced section, which is collapsed until opened. */
const advancedFields = ['gradient-accumulation', 'validation-split', 'lora-dropout', 'target-modules', 'dpo-beta']

/** Opens the Advanced section unless it is open. */
async function openAdvanced(page: Page): Promise<void> {
  const section = page.getByTestId('advanced')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').click()
}

/** Opens a fresh form and fills in the model, data and settings of `spec`. */
async function fillForm(page: Page, spec: JobSpec): Promise<void> {
  await page.getByTestId('new-job-button').click()
  await page.getByTestId('model-custom').check()
  await page.getByTestId('model-path').fill(modelDir)
  await page.getByTestId('job-name').fill(spec.name)
  if (spec.method) await page.getByTestId('method').selectOption(spec.method)
  if (spec.preset) await page.getByTestId('preset').selectOption(spec.preset)
  await page.getByTestId('dataset-path').fill(spec.dataset)
  const fields = Object.entries(spec.fields ?? {})
  if (spec.selects || spec.checks || spec.columns || fields.some(([testId]) => advancedFields.includes(testId))) await openAdvanced(page)
  for (const [testId, value] of fields) await page.getByTestId(testId).fill(value)
  for (const [testId, value] of Object.entries(spec.selects ?? {})) await page.getByTestId(testId).selectOption(value)
  for (const testId of spec.checks ?? []) await page.getByTestId(testId).check()
  for (const [index, [field, column]] of (spec.columns ?? []).entries()) {
    await page.getByTestId('column-add').click()
    await page.getByTestId('column-field').nth(index).selectOption(field)
    await page.getByTestId('column-name').nth(index).fill(column)
  }
}

/** Fills the form (unless done), waits for the preview's format, submits, and returns the new job's id. */
async function submitJob(page: Page, spec: JobSpec, filled = false): Promise<string> {
  if (!filled) await fillForm(page, spec)
  await expect
    .poll(() => page.getByTestId('dataset-preview-format').textContent(), { timeout: 60_000, message: `${spec.name}: preview format` })
    .toBe(spec.detected)
  if (spec.counts)
    await expect
      .poll(() => page.getByTestId('dataset-preview-counts').textContent(), { message: `${spec.name}: preview counts` })
      .toBe(spec.counts)
  await page.getByTestId('submit-job').click()
  await page.getByTestId('job-page').waitFor({ timeout: 30_000 })
  const jobId = (await page.getByTestId('job-page').getAttribute('data-job-id')) ?? ''
  expect(jobId, spec.name).not.toBe('')
  return jobId
}

/** The sidebar's status of one job. */
async function rowStatus(page: Page, jobId: string): Promise<string> {
  return (await page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`).getByTestId('job-row-status').textContent())?.trim() ?? ''
}

const finished = ['completed', 'failed', 'cancelled', 'interrupted']

/**
 * Polls the sidebar until every job has finished, checking on each look that
 * the queue trains one job at a time; returns the statuses by job id.
 */
async function waitForAll(page: Page, jobIds: string[], timeout: number): Promise<Record<string, string>> {
  let statuses: string[] = []
  await expect
    .poll(
      async () => {
        statuses = await Promise.all(jobIds.map((jobId) => rowStatus(page, jobId)))
        const live = statuses.filter((status) => status === 'starting' || status === 'running' || status === 'pausing')
        expect(live.length, `jobs training at once: ${statuses.join(', ')}`).toBeLessThanOrEqual(1)
        return statuses.filter((status) => !finished.includes(status)).length
      },
      { timeout, interval: 1000, message: 'jobs still waiting or training' },
    )
    .toBe(0)
  return Object.fromEntries(jobIds.map((jobId, index) => [jobId, statuses[index]!]))
}

/** Opens a job from the sidebar and checks what its page shows once it completed, the format the trainer read included. */
async function expectCompletedPage(page: Page, jobId: string, name: string, detected: string): Promise<void> {
  await page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`).click()
  await expect.poll(() => page.getByTestId('job-page').getAttribute('data-job-id')).toBe(jobId)
  expect(await page.getByTestId('job-name').textContent()).toBe(name)
  expect(await jobStatus(page)).toBe('completed')
  await expect.poll(() => chartPoints(page), { message: `${name}: chart points` }).toBeGreaterThanOrEqual(1)
  const steps = (await page.getByTestId('job-step').textContent()) ?? ''
  expect(steps, name).toMatch(/^(\d+) \/ \1\b/)
  // What the trainer itself reported (its dataset event), not the form's preview.
  await expect
    .poll(() => page.getByTestId('report-dataset').getAttribute('data-format'), { message: `${name}: format the trainer read` })
    .toBe(detected)
  expect(await page.getByTestId('report-dataset').textContent(), name).toMatch(/^Read as .+: [\d,]+ (example|examples)/)
  // SFT and DPO estimate GPU memory before loading; on this machine there is no GPU to compare with.
  expect(await page.getByTestId('report-memory').textContent(), name).toContain('no GPU here')
}

describe('dataset formats and presets in the browser', () => {
  it('refuses Start beside the dataset field for a folder that is not a saved dataset', async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'formats-folder', async () => {
      await fillForm(page, { name: 'not a dataset', dataset: files.notDataset, detected: '' })
      expect(await page.getByTestId('advanced').getAttribute('open'), 'Advanced starts collapsed').toBeNull()
      // The preview already says so, and Start is refused with that reason beside the same field.
      await expect.poll(() => page.getByTestId('dataset-preview-error').textContent(), { timeout: 60_000 }).toMatch(/save_to_disk/)
      await page.getByTestId('submit-job').click()
      await expect
        .poll(() => page.getByTestId('field-error-dataset.path').textContent())
        .toContain('just-a-folder: is a folder but not a dataset saved with save_to_disk')
      expect(await page.getByTestId('job-page').count()).toBe(0)
    })
  })

  it('trains a job with each dataset format, each settings section used once', { timeout: 600_000 }, async () => {
    const page = host.page()
    await page.goto(host.served().url)
    const specs: JobSpec[] = [
      { name: 'alpaca json', dataset: files.alpaca, detected: 'alpaca', fields: { ...tiny, 'gradient-accumulation': '2' } },
      { name: 'sharegpt jsonl', dataset: files.sharegpt, detected: 'sharegpt', fields: { ...tiny, 'validation-split': '0.25' } },
      {
        name: 'openai tools jsonl',
        dataset: files.openai,
        detected: 'openai',
        fields: { ...tiny, 'max-seq-length': '256', 'lora-dropout': '0', 'target-modules': 'q_proj, v_proj' },
      },
      {
        name: 'prompt completion jsonl',
        dataset: files.promptCompletion,
        detected: 'prompt_completion',
        fields: tiny,
        checks: ['train-on-inputs'],
      },
      { name: 'text jsonl', dataset: files.text, detected: 'text', fields: tiny, selects: { packing: 'on' } },
      {
        name: 'csv with own columns',
        dataset: files.csv,
        detected: 'alpaca',
        counts: '16 rows · 16 usable · 0 bad',
        fields: tiny,
        columns: [
          ['instruction', 'question'],
          ['output', 'answer'],
        ],
      },
      { name: 'parquet', dataset: files.parquet, detected: 'alpaca', fields: tiny, checks: ['rslora', 'dora'] },
      { name: 'save_to_disk folder', dataset: files.saved, detected: 'sharegpt', fields: tiny },
      { name: 'plain txt', dataset: files.txt, detected: 'text', fields: tiny },
      { name: 'dpo pairs', dataset: files.preference, detected: 'preference', method: 'dpo', fields: { ...tiny, 'dpo-beta': '0.2' } },
      {
        name: 'csv bad row skipped',
        dataset: files.badCsv,
        detected: 'alpaca',
        counts: '16 rows · 15 usable · 1 skipped',
        fields: tiny,
        columns: [
          ['instruction', 'question'],
          ['output', 'answer'],
        ],
        selects: { 'bad-rows': 'skip' },
      },
      {
        name: 'csv bad row fails',
        dataset: files.badCsv,
        detected: 'alpaca',
        counts: '16 rows · 15 usable · 1 bad',
        fields: tiny,
        columns: [
          ['instruction', 'question'],
          ['output', 'answer'],
        ],
        expect: 'failed',
      },
    ]
    if (haveShared) {
      specs.push(
        {
          name: 'alpaca_en_demo',
          dataset: `${sharedDatasets}/alpaca_en_demo.json`,
          detected: 'alpaca',
          fields: { epochs: '0.01', 'batch-size': '2', 'max-seq-length': '64' },
        },
        {
          name: 'dpo_en_demo',
          dataset: `${sharedDatasets}/dpo_en_demo.json`,
          detected: 'preference',
          method: 'dpo',
          fields: { epochs: '0.02', 'batch-size': '2', 'max-seq-length': '64' },
        },
      )
    } else {
      console.log(`skipped the shared demo datasets: ${resolve(repoDir, sharedDatasets)} is absent`)
    }
    await withDiagnostics(page, host.served(), 'formats', async () => {
      const started = Date.now()
      const jobs: Array<{ id: string; spec: JobSpec }> = []
      for (const spec of specs) {
        const failing = spec.expect === 'failed'
        if (failing) {
          // Before starting it, the preview says where the job would stop.
          await fillForm(page, spec)
          await expect
            .poll(() => page.getByTestId('dataset-preview-bad-rows-headline').textContent(), { timeout: 60_000 })
            .toContain('the job would stop at line 4, answer')
          await openAdvanced(page)
          await page.setViewportSize({ width: 1280, height: 1700 })
          await screenshot(page, 'new-job-advanced.png')
          await page.setViewportSize({ width: 1280, height: 800 })
        }
        jobs.push({ id: await submitJob(page, spec, failing), spec })
      }
      const submitted = (Date.now() - started) / 1000
      const statuses = await waitForAll(
        page,
        jobs.map((job) => job.id),
        480_000,
      )
      for (const { id, spec } of jobs) expect(`${spec.name}: ${statuses[id]}`).toBe(`${spec.name}: ${spec.expect ?? 'completed'}`)
      for (const { id, spec } of jobs) if (spec.expect !== 'failed') await expectCompletedPage(page, id, spec.name, spec.detected)

      // The failed one names the file, the line and the file's own column.
      const failed = jobs.find((job) => job.spec.expect === 'failed')!
      await page.locator(`[data-testid="job-row"][data-job-id="${failed.id}"]`).click()
      await expect.poll(() => page.getByTestId('job-error-message').textContent()).toMatch(/bad-row\.csv line 4: field "answer": missing/)
      expect(await page.getByTestId('job-error').innerText()).toContain('Field: dataset.path')
      console.log(
        `formats: ${jobs.length} jobs submitted in ${submitted.toFixed(0)} s, all finished ${((Date.now() - started) / 1000).toFixed(0)} s after the first`,
      )
    })
  })

  it('trains a job with each preset, the efficient one without 4-bit on a machine with no CUDA GPU', { timeout: 600_000 }, async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'presets', async () => {
      await page.getByTestId('new-job-button').click()
      const presetIds = (
        await page
          .getByTestId('preset')
          .locator('option')
          .evaluateAll((options) => options.map((option) => (option as unknown as { value: string }).value))
      ).filter((id) => id !== '')
      expect(presetIds.sort()).toEqual(['advanced', 'basic', 'coding', 'domain', 'efficient', 'multilingual', 'personality', 'qa'])
      const started = Date.now()
      const jobs: Array<{ id: string; name: string }> = []
      for (const preset of presetIds) {
        const spec: JobSpec = {
          name: `preset ${preset}`,
          dataset: files.alpaca,
          detected: 'alpaca',
          preset,
          fields: { epochs: '1', 'max-seq-length': '64' },
        }
        await fillForm(page, spec)
        if (preset === 'efficient') {
          // No GPU here (the GPU panel would say so): the note explains why 4-bit stays off.
          const note = page.getByTestId('quantization-note')
          if ((await note.count()) > 0) {
            expect(await note.textContent()).toContain(
              'needs an NVIDIA GPU with CUDA; none was found, so the job trains without quantization',
            )
            expect(await page.getByTestId('quantization').isChecked()).toBe(false)
          } else {
            expect(await page.getByTestId('quantization').isChecked()).toBe(true)
          }
          expect(await page.getByTestId('gradient-accumulation').inputValue()).toBe('16')
          expect(await page.getByTestId('packing').inputValue()).toBe('on')
          await screenshot(page, 'new-job-efficient.png')
        }
        jobs.push({ id: await submitJob(page, spec), name: spec.name })
      }
      const statuses = await waitForAll(
        page,
        jobs.map((job) => job.id),
        480_000,
      )
      for (const { id, name } of jobs) expect(`${name}: ${statuses[id]}`).toBe(`${name}: completed`)
      for (const { id, name } of jobs) await expectCompletedPage(page, id, name, 'alpaca')
      console.log(`presets: ${jobs.length} jobs finished ${((Date.now() - started) / 1000).toFixed(0)} s after the first was submitted`)
    })
  })
})

describe('a file read as its author meant it', () => {
  /** A corpus file (tests/fixtures/datasets) copied beside the others, as a user would have it. */
  function corpusFile(name: string): string {
    const file = join(workDir, name)
    copyFileSync(join(repoDir, 'tests', 'fixtures', 'datasets', name), file)
    return file
  }

  it('names a method that does not fit the file beside it before Start, and offers the one that fits', async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'formats-method-mismatch', async () => {
      await fillForm(page, { name: 'kto rows with dpo', dataset: corpusFile('kto_messages.json'), detected: 'feedback', method: 'dpo' })
      // Messages with a true/false label are feedback, never conversations to imitate.
      await expect.poll(() => page.getByTestId('dataset-preview-format').textContent(), { timeout: 60_000 }).toBe('feedback')
      expect(await page.getByTestId('method-suggestion').textContent()).toContain(
        'Preference (DPO) does not fit: this file holds feedback rows (prompt, completion and a true/false label), which Feedback (KTO) trains on.',
      )
      await page.getByTestId('submit-job').click()
      await expect
        .poll(() => page.getByTestId('field-error-method').textContent())
        .toBe(
          'Preference (DPO) does not train on this file: it holds feedback rows (prompt, completion and a true/false label). Choose Feedback (KTO), or another file.',
        )
      expect(await page.getByTestId('job-page').count()).toBe(0)
      // The label is in the preview: what KTO is to favour, and what it is to steer away from.
      expect(await page.getByTestId('dataset-preview').textContent()).toContain('false (undesirable)')
      await page.getByTestId('method').scrollIntoViewIfNeeded()
      await screenshot(page, 'new-job-method-mismatch.png')
      await page.getByTestId('use-suggested-method').click()
      expect(await page.getByTestId('method').inputValue()).toBe('kto')
      expect(await page.getByTestId('field-error-method').count()).toBe(0)
      expect(await page.getByTestId('method-suggestion').count()).toBe(0)
    })
  })

  it(
    'shows Chinese and an en dash in the library’s token view as the characters they are, with the histogram’s axes, and reads it another way when asked',
    { timeout: 180_000 },
    async () => {
      const page = host.page()
      await page.goto(host.served().url)
      await withDiagnostics(page, host.served(), 'formats-token-view', async () => {
        await dropFile(page, 'articles.txt', readFileSync(join(repoDir, 'tests', 'fixtures', 'datasets', 'articles.txt'), 'utf8'))
        await page.getByTestId('datasets-page').waitFor()
        const row = page.getByTestId('dataset-row').filter({ has: page.getByTestId('dataset-format').getByText('text', { exact: true }) })
        await expect.poll(() => row.count(), { timeout: 60_000 }).toBe(1)
        // One article per line, no blank lines: five documents, not one.
        expect(await row.getByTestId('dataset-rows').textContent()).toBe('5')
        await row.getByTestId('dataset-preview-button').click()
        const example = page.getByTestId('token-example').first()
        await example.waitFor({ timeout: 120_000 })
        const shown = (await example.textContent()) ?? ''
        expect(shown).toContain('长江是中国最长的河流')
        expect(shown).toContain('gas – slowly')
        expect(shown).not.toContain('\ufffd')
        expect(await page.getByTestId('histogram-x-axis').textContent()).toContain('tokens per document')
        expect(await page.getByTestId('histogram-y-axis').textContent()).toContain('documents')
        expect(await page.getByTestId('histogram-legend').textContent()).toMatch(/maximum length \(\d+ tokens\)/)
        expect(await page.getByTestId('histogram-max-length').count()).toBe(1)
        expect(await page.getByTestId('token-stats').textContent()).toMatch(/^5 documents in 1 training block of up to \d+ tokens/)
        await example.scrollIntoViewIfNeeded()
        await screenshot(page, 'token-view-chinese.png')

        // Read as… on the Datasets page: the whole file as one document, kept with the dataset.
        await row.getByTestId('dataset-read-as').click()
        await page.getByTestId('reading-text-split').selectOption('file')
        await page.getByTestId('reading-save').click()
        await expect.poll(() => row.getByTestId('dataset-rows').textContent(), { timeout: 60_000 }).toBe('1')
        await expect
          .poll(() => page.getByTestId('library-reading').textContent(), { timeout: 60_000 })
          .toBe('Kept with the dataset: format detected; the whole file.')
      })
    },
  )
})
