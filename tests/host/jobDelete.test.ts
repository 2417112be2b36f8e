/**
 * Deleting a job leaves no rows and no files behind, refuses a job that is training, and a
 * deletion cut off by a host crash is finished at the next start. Fixture trainers on the
 * real engine and the real SQLite file.
 */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { Harness, scriptedTrainer, temporaryDir, waitFor } from './jobs.harness'

const open: Harness[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const harness of open.splice(0)) await harness.service.shutdown()
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

async function harness(scenario: string, dataDir = temporaryDir()): Promise<Harness> {
  if (!dirs.includes(dataDir)) dirs.push(dataDir)
  const created = new Harness(dataDir, { trainerCommand: scriptedTrainer(() => scenario), shutdownSeconds: 5 })
  open.push(created)
  await created.service.start()
  return created
}

const selftest = { model: { selftest: true } }

/**
 * Deletes a finished job. Its final state is reported before its process has exited, and until
 * then the host refuses (the trainer may still write its last terminal lines into the folder).
 */
async function deleteOnceExited(h: Harness, jobId: string): Promise<void> {
  await waitFor(
    async () => {
      try {
        await h.request('jobs.delete', { jobId })
        return true
      } catch (error) {
        expect(error).toMatchObject({ code: 'conflict' })
        expect((error as Error).message).toContain('trainer has not exited yet')
        return false
      }
    },
    10_000,
    () => `job ${jobId}'s trainer to exit so the job can be deleted`,
  )
}

/** Rows that name the job in any table of the database file, read as another process would. */
function rowsOf(dataDir: string, jobId: string): Record<string, number> {
  const db = new Database(path.join(dataDir, 'tunedeck.db'), { readonly: true })
  try {
    const tables = ['metrics', 'ingested_events', 'checkpoints', 'job_notes']
    const counts: Record<string, number> = {
      jobs: (db.prepare('SELECT COUNT(*) AS n FROM jobs WHERE id = ?').get(jobId) as { n: number }).n,
    }
    for (const table of tables)
      counts[table] = (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE job_id = ?`).get(jobId) as { n: number }).n
    return counts
  } finally {
    db.close()
  }
}

describe('deleting a job', () => {
  it('removes a finished job: its folder, metrics, checkpoints and events, and tells every window', async () => {
    const h = await harness('complete')
    const kept = await h.request('jobs.create', selftest)
    const doomed = await h.request('jobs.create', selftest)
    await h.waitForStatus(kept.id, 'completed')
    await h.waitForStatus(doomed.id, 'completed')
    const disk = await h.request('jobs.disk', {})
    expect(disk[doomed.id]).toBeGreaterThan(0)
    expect(Object.values(rowsOf(h.dataDir, doomed.id)).some((count) => count > 0)).toBe(true)

    await deleteOnceExited(h, doomed.id)

    expect(fs.existsSync(h.jobDir(doomed.id))).toBe(false)
    expect(fs.readdirSync(path.join(h.dataDir, 'jobs'))).toEqual([kept.id])
    expect(rowsOf(h.dataDir, doomed.id)).toEqual({ jobs: 0, metrics: 0, ingested_events: 0, checkpoints: 0, job_notes: 0 })
    expect(h.payloads('job.deleted')).toEqual([{ jobId: doomed.id }])
    expect((await h.request('jobs.list', {})).map((job) => job.id)).toEqual([kept.id])
    expect(Object.keys(await h.request('jobs.disk', {}))).toEqual([kept.id])
    // The other job is untouched.
    expect((await h.request('jobs.metrics', { jobId: kept.id })).length).toBe(5)
  })

  it('refuses a job that is training, naming its state, and deletes it once cancelled', async () => {
    const h = await harness('pausable')
    const job = await h.request('jobs.create', selftest)
    await h.waitForStatus(job.id, 'running')
    const refused = h.request('jobs.delete', { jobId: job.id })
    await expect(refused).rejects.toThrow(/is running; cancel it \(or let it finish\) before deleting it/)
    await expect(refused).rejects.toMatchObject({ code: 'conflict' })
    expect(fs.existsSync(h.jobDir(job.id))).toBe(true)
    await h.request('jobs.cancel', { jobId: job.id })
    await h.waitForStatus(job.id, 'cancelled')
    await deleteOnceExited(h, job.id)
    expect(fs.existsSync(h.jobDir(job.id))).toBe(false)
  })

  it('finishes a deletion a host crash cut off: the renamed folder is removed at the next start', async () => {
    const dataDir = temporaryDir()
    const leftover = path.join(dataDir, 'jobs', '.deleted-0abc')
    fs.mkdirSync(path.join(leftover, 'checkpoints', 'step-3'), { recursive: true })
    fs.writeFileSync(path.join(leftover, 'checkpoints', 'step-3', 'adapter_model.safetensors'), 'weights')
    await harness('complete', dataDir)
    expect(fs.existsSync(leftover)).toBe(false)
  })
})
