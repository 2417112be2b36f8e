/** The sidebar's job search: by any field, or one field with a prefix. */
import { describe, expect, it } from 'vitest'
import type { Job } from '@shared/jobs'
import { jobDate, matchesJobFilter } from '../../renderer/src/logic/jobFilter'

function job(name: string, status: Job['status'], model: string, dataset: string, createdAt: number, selftest = false): Job {
  return { name, status, createdAt, config: { method: 'sft', model: { path: model, selftest }, dataset: { path: dataset } } } as Job
}

const november = new Date(2026, 10, 28, 15, 0).getTime()
const jobs = [
  job('Qwen on alpaca', 'completed', '/models/Qwen2.5-0.5B', '/data/alpaca_en_demo.json', november),
  job('Llama dpo', 'failed', 'meta-llama/Llama-3.2-1B', '/data/dpo_en_demo.json', new Date(2026, 9, 2).getTime()),
  job('Self-test', 'running', '/d/models/tiny-selftest', '/r/selftest/dataset.jsonl', november, true),
]

const names = (query: string) => jobs.filter((entry) => matchesJobFilter(entry, query)).map((entry) => entry.name)

describe('job search', () => {
  it('matches every word anywhere, ignoring case', () => {
    expect(names('')).toEqual(['Qwen on alpaca', 'Llama dpo', 'Self-test'])
    expect(names('QWEN')).toEqual(['Qwen on alpaca'])
    expect(names('dpo llama')).toEqual(['Llama dpo'])
    expect(names('self-test')).toEqual(['Self-test'])
  })

  it('looks in one field with a prefix: status, model, dataset, date', () => {
    expect(names('status:failed')).toEqual(['Llama dpo'])
    expect(names('model:qwen')).toEqual(['Qwen on alpaca'])
    expect(names('dataset:demo')).toEqual(['Qwen on alpaca', 'Llama dpo'])
    expect(names('date:2026-11')).toEqual(['Qwen on alpaca', 'Self-test'])
    expect(names('status:completed model:llama')).toEqual([])
  })

  it('shows dates as the search reads them', () => {
    expect(jobDate(november)).toBe('2026-11-28')
  })
})
