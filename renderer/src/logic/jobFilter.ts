/**
 * The sidebar's job search: every word typed must appear in the job's name, status, model,
 * dataset, method or creation date (YYYY-MM-DD); `status:failed`, `model:qwen`,
 * `dataset:alpaca` and `date:2026-11` look in one of them only.
 */
import type { Job } from '@shared/jobs'

const fields = ['name', 'status', 'model', 'dataset', 'method', 'date'] as const
type Field = (typeof fields)[number]

/** The date a job was created, as the search and the list show it (local time). */
export function jobDate(createdAt: number): string {
  const date = new Date(createdAt)
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`
}

function values(job: Job): Record<Field, string> {
  return {
    name: job.name,
    status: job.status,
    model: job.config.model.selftest ? `self-test ${job.config.model.path}` : job.config.model.path,
    dataset: job.config.dataset.path,
    method: job.config.method,
    date: jobDate(job.createdAt),
  }
}

/** Whether the job matches every word of `query` (case-insensitive); an empty query matches all. */
export function matchesJobFilter(job: Job, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean)
  if (words.length === 0) return true
  const found = values(job)
  const everywhere = Object.values(found).join('\n').toLowerCase()
  return words.every((word) => {
    const colon = word.indexOf(':')
    const field = colon > 0 ? word.slice(0, colon) : ''
    if ((fields as readonly string[]).includes(field)) return found[field as Field].toLowerCase().includes(word.slice(colon + 1))
    return everywhere.includes(word)
  })
}
