/**
 * Steps that more than one browser test takes: the data a user drops, the job page's progress,
 * a job's row in the sidebar, and the export's download through the browser. The journey test
 * (journey.test.ts) strings them together; the feature tests use them one at a time.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { repoDir } from './harness'

/** The self-test rows as OpenAI chat messages with a system turn: a shape users bring. */
export function chatFile(rows = 48): string {
  const lines = readFileSync(join(repoDir, 'resources', 'selftest', 'dataset.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .slice(0, rows)
  return lines
    .map((line) => {
      const row = JSON.parse(line) as { instruction: string; input: string; output: string }
      const user = row.input ? `${row.instruction}\n${row.input}` : row.instruction
      return JSON.stringify({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: user },
          { role: 'assistant', content: row.output },
        ],
      })
    })
    .join('\n')
}

/** "40 / 180" from the job page's progress stat, as numbers. */
export async function progress(page: Page): Promise<{ step: number; total: number }> {
  const text = (await page.getByTestId('job-step').textContent()) ?? ''
  const match = /(\d+) \/ (\d+)/.exec(text)
  return { step: Number(match?.[1] ?? 0), total: Number(match?.[2] ?? 0) }
}

/** The status a job's row in the sidebar shows. */
export async function rowStatus(page: Page, jobId: string): Promise<string> {
  return (await page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`).getByTestId('job-row-status').textContent())?.trim() ?? ''
}

/** The SHA-256 of a file, in hex. */
export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

/** Clicks the export's "Download the zip" and returns where the browser saved it and the name it suggested. */
export async function downloadExport(page: Page): Promise<{ saved: string; name: string }> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId('export-download').click()])
  return { saved: await download.path(), name: download.suggestedFilename() }
}
