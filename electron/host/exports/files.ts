/**
 * What an export reads from a job folder besides the adapter: the metrics of every step
 * (from events.jsonl, the durable record), the held-out loss, and SHA-256 digests.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/** The numbers the card and metrics.csv need from one job's events. */
export interface JobHistory {
  /** metrics.csv: one row per step event. */
  csv: string
  steps: number
  finalLoss: number | null
  /** The last eval event's loss (held-out rows); null when the job held none out. */
  heldOutLoss: number | null
}

const columns = ['step', 'loss', 'lr', 'gradNorm', 'tokens', 'epoch', 'tokensPerSecond', 'time'] as const

/** Reads events.jsonl; a torn last line (a crash mid-write) is skipped, as the host's ingest does. */
export function readHistory(jobDir: string): JobHistory {
  const file = path.join(jobDir, 'events.jsonl')
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
  const rows: string[] = [columns.join(',')]
  let steps = 0
  let finalLoss: number | null = null
  let heldOutLoss: number | null = null
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    let event: Record<string, unknown>
    try {
      event = JSON.parse(line) as Record<string, unknown>
    } catch {
      continue
    }
    if (event.type === 'step') {
      rows.push(columns.map((column) => (event[column] === null || event[column] === undefined ? '' : String(event[column]))).join(','))
      steps = Math.max(steps, Number(event.step))
      finalLoss = Number(event.loss)
    } else if (event.type === 'eval') {
      heldOutLoss = Number(event.loss)
    }
  }
  return { csv: rows.join('\n') + '\n', steps, finalLoss, heldOutLoss }
}

/** The SHA-256 (hex) and size of a file, read as a stream. */
export async function digestFile(file: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of fs.createReadStream(file, { signal, highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  return { sha256: hash.digest('hex'), bytes }
}

/** The SHA-256 (hex) of a buffer. */
export function digestBuffer(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Every file under ``dir``, as paths relative to it with forward slashes, sorted. */
export function listFiles(dir: string): string[] {
  const found: string[] = []
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name
      if (entry.isDirectory()) walk(child)
      else if (entry.isFile()) found.push(child)
    }
  }
  walk('')
  return found.sort()
}

/** The training examples behind a job: its dataset event in events.jsonl; null when it has none. */
export function jobExamples(jobDir: string): number | null {
  const file = path.join(jobDir, 'events.jsonl')
  if (!fs.existsSync(file)) return null
  let examples: number | null = null
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"dataset"')) continue
    try {
      const event = JSON.parse(line) as { type?: unknown; examples?: unknown }
      if (event.type === 'dataset' && typeof event.examples === 'number' && event.examples > 0) examples = event.examples
    } catch {
      // A torn last line: the host's ingest skips it too.
    }
  }
  return examples
}
