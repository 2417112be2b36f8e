/** The SQLite store: schema, migrations and the repositories' round trips on a real file. */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { jobConfigSchema } from '@shared/config'
import { jobSchema } from '@shared/jobs'
import { Store, migrations, newJobRecord, toJob, type JobRecord } from '../../electron/host/store'
import { temporaryDir } from './jobs.harness'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function open(): { store: Store; dir: string } {
  const dir = temporaryDir()
  dirs.push(dir)
  return { store: Store.open(dir), dir }
}

function record(id: string, patch: Partial<JobRecord> = {}): JobRecord {
  const config = jobConfigSchema.parse({ version: 1, jobId: id, model: { path: '/models/m' }, dataset: { path: '/data/d.jsonl' } })
  return newJobRecord({ id, name: `job ${id}`, status: 'queued', config, createdAt: 1000, queuePosition: 1, ...patch })
}

describe('store', () => {
  it('creates tunedeck.db in WAL mode with every migration applied', () => {
    const { store, dir } = open()
    expect(fs.existsSync(path.join(dir, 'tunedeck.db'))).toBe(true)
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1)
    expect(store.db.pragma('user_version', { simple: true })).toBe(migrations.length)
    const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
    expect(tables.map((table) => table.name)).toEqual([
      'chat_conversations',
      'chat_turns',
      'checkpoints',
      'gpu_samples',
      'ingested_events',
      'job_notes',
      'jobs',
      'metrics',
      'settings',
    ])
    store.close()
    // Opening again runs nothing twice.
    const again = Store.open(dir)
    expect(again.db.pragma('user_version', { simple: true })).toBe(migrations.length)
    again.close()
  })

  it('keeps the conversations and turns of a version 4 database when chats with library adapters are added (migration 5)', () => {
    const dir = temporaryDir()
    dirs.push(dir)
    const old = new Database(path.join(dir, 'tunedeck.db'))
    old.pragma('foreign_keys = ON')
    for (const sql of migrations.slice(0, 4)) old.exec(sql)
    old.pragma('user_version = 4')
    const config = JSON.stringify(record('j').config)
    old
      .prepare("INSERT INTO jobs (id, name, status, config, created_at, queue_position) VALUES ('j', 'Job', 'completed', ?, 1, NULL)")
      .run(config)
    old.prepare("INSERT INTO chat_conversations VALUES ('c', 'j', 'step-4', 'Hello', '\"base\"', '{}', 1, 2)").run()
    old
      .prepare(
        "INSERT INTO chat_turns VALUES ('c', 1, 'user', NULL, 'Hello', NULL, NULL, 1), ('c', 2, 'assistant', 'primary', 'Hi', 'p', 'eos', 2)",
      )
      .run()
    old.close()
    const store = Store.open(dir)
    expect(store.db.prepare('SELECT id, job_id, checkpoint, adapter_id, title FROM chat_conversations').all()).toEqual([
      { id: 'c', job_id: 'j', checkpoint: 'step-4', adapter_id: null, title: 'Hello' },
    ])
    expect(store.db.prepare('SELECT seq, content FROM chat_turns ORDER BY seq').all()).toEqual([
      { seq: 1, content: 'Hello' },
      { seq: 2, content: 'Hi' },
    ])
    // Deleting the job still deletes its conversation and turns: the foreign keys point at the new tables.
    expect(store.db.pragma('foreign_key_check')).toEqual([])
    store.db.prepare("DELETE FROM jobs WHERE id = 'j'").run()
    expect(store.db.prepare('SELECT COUNT(*) AS count FROM chat_turns').get()).toEqual({ count: 0 })
    // A conversation names a job or a library adapter, never both or neither.
    expect(() =>
      store.db
        .prepare(
          "INSERT INTO chat_conversations (id, title, compare, settings, created_at, updated_at) VALUES ('x', 't', 'null', '{}', 1, 1)",
        )
        .run(),
    ).toThrow(/CHECK/)
    store.close()
  })

  it('refuses a database from a newer Tunedeck', () => {
    const { store, dir } = open()
    store.db.pragma(`user_version = ${migrations.length + 1}`)
    store.close()
    expect(() => Store.open(dir)).toThrow(/newer than this Tunedeck understands/)
  })

  it('stores a job and reads it back as the contract Job', () => {
    const { store } = open()
    const error = { message: 'boom', traceback: 'line 1', field: 'dataset.path' }
    store.jobs.insert(record('a', { status: 'failed', error, step: 3, loss: 1.25 }))
    const read = store.jobs.get('a') as JobRecord
    expect(toJob(read)).toMatchObject({ id: 'a', status: 'failed', error, step: 3, loss: 1.25, queuePosition: 1 })
    expect(read.config.model.path).toBe('/models/m')
    const updated = store.jobs.update('a', { status: 'queued', error: null, pid: 42, pidStartTime: '123' })
    expect(updated).toMatchObject({ status: 'queued', error: null, pid: 42, pidStartTime: '123' })
    expect(store.jobs.get('missing')).toBeUndefined()
    store.close()
  })

  it('keeps one column per record field, round-trips every field, and shows the renderer only the Job fields', () => {
    const { store } = open()
    const columns = (store.db.prepare('PRAGMA table_info(jobs)').all() as { name: string }[]).map((column) => column.name)
    const full = record('a', {
      ...{ status: 'paused', startedAt: 1001, finishedAt: 1002, step: 7, totalSteps: 9, loss: 0.5, tokensPerSecond: 12.5 },
      ...{ error: { message: 'm', traceback: 't', field: 'f' }, adapterPath: '/a', pid: 3, pidStartTime: '44', lastEventTime: 1003 },
      ...{ eventsOffset: 55, pausedCheckpoint: 'pause-7' },
    })
    // Each field's column is its snake_case name, and the table has no column the record lacks.
    expect([...columns].sort()).toEqual(
      Object.keys(full)
        .map((field) => field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`))
        .sort(),
    )
    store.jobs.insert(full)
    expect(store.jobs.get('a')).toEqual(full)
    expect(Object.keys(toJob(full)).sort()).toEqual(Object.keys(jobSchema.shape).sort())
    expect(jobSchema.parse(toJob(full))).toEqual(toJob(full))
    store.close()
  })

  it('replaces a metric row when a step is trained again after a resume', () => {
    const { store } = open()
    store.jobs.insert(record('a'))
    const point = { step: 1, loss: 2, lr: 1e-3, gradNorm: null, tokens: 10, epoch: 0.1, tokensPerSecond: 5, mfu: 0.25, time: 1 }
    store.metrics.put('a', point)
    store.metrics.put('a', { ...point, step: 2 })
    store.metrics.put('a', { ...point, loss: 1.5 })
    expect(store.metrics.list('a').map((row) => [row.step, row.loss])).toEqual([
      [1, 1.5],
      [2, 2],
    ])
    expect(store.metrics.list('a').map((row) => row.mfu)).toEqual([0.25, 0.25])
    store.metrics.deleteAfter('a', 1)
    expect(store.metrics.list('a')).toHaveLength(1)
  })

  it('claims each event seq of a job once', () => {
    const { store } = open()
    store.jobs.insert(record('a'))
    store.jobs.insert(record('b'))
    expect(store.events.claim('a', 1)).toBe(true)
    expect(store.events.claim('a', 1)).toBe(false)
    expect(store.events.claim('b', 1)).toBe(true)
    expect(store.events.count('a')).toBe(1)
  })

  it('orders the queue and keeps positions only on queued jobs', () => {
    const { store } = open()
    store.jobs.insert(record('a'))
    store.jobs.insert(record('b', { queuePosition: 2 }))
    store.jobs.insert(record('c', { status: 'running', queuePosition: null }))
    store.jobs.renumberQueue(['b', 'a'])
    expect(store.jobs.queued().map((job) => [job.id, job.queuePosition])).toEqual([
      ['b', 1],
      ['a', 2],
    ])
    expect(store.jobs.get('c')?.queuePosition).toBeNull()
  })

  it('keeps checkpoints and settings, and deletes a job with everything it owns', () => {
    const { store, dir } = open()
    store.jobs.insert(record('a'))
    store.checkpoints.put('a', { name: 'step-2', kind: 'periodic', step: 2, loss: 1, time: 5, bytes: 100 })
    store.checkpoints.put('a', { name: 'keep', kind: 'named', step: 1, loss: null, time: 4, bytes: 50 })
    expect(store.checkpoints.list('a').map((row) => row.name)).toEqual(['keep', 'step-2'])
    store.settings.set('queue', { running: false, concurrency: 2 })
    expect(store.settings.get('queue', null)).toEqual({ running: false, concurrency: 2 })
    expect(store.settings.get('missing', 7)).toBe(7)
    store.db.prepare('DELETE FROM jobs WHERE id = ?').run('a')
    expect(store.checkpoints.list('a')).toEqual([])
    store.close()
    // A second connection (another process) sees the committed settings.
    const other = new Database(path.join(dir, 'tunedeck.db'), { readonly: true })
    expect(other.prepare('SELECT value FROM settings').get()).toEqual({ value: '{"running":false,"concurrency":2}' })
    other.close()
  })
})
