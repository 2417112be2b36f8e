/**
 * The job reducer (electron/host/jobs/lifecycle.ts): every trainer event and
 * every host or user event, applied to a job in each of the nine states,
 * against a hand-written table of which states it moves and where to. Also
 * what each change writes beside the status and which windows' events it
 * makes due. Pure: no store, no trainer.
 */
import { describe, expect, it } from 'vitest'
import { jobConfigSchema } from '@shared/config'
import { jobStatuses, liveStatuses, type JobStatus } from '@shared/jobs'
import { transitionProblem } from '@shared/jobStates'
import { trainerEventSchema, type TrainerEvent } from '@shared/protocol'
import { reduce, type Circumstances, type JobEvent } from '../../electron/host/jobs/lifecycle'
import { newJobRecord, type JobRecord } from '../../electron/host/store'

const now = 1_700_000_500_000
const config = jobConfigSchema.parse({ version: 1, jobId: 'j', model: { path: '/models/m' }, dataset: { path: '/data/d.jsonl' } })

function job(status: JobStatus, patch: Partial<JobRecord> = {}): JobRecord {
  return newJobRecord({
    id: 'j',
    name: 'job',
    status,
    config,
    createdAt: 1000,
    step: 4,
    totalSteps: 10,
    pid: 77,
    pidStartTime: '9',
    ...patch,
  })
}

/** A real trainer event: the protocol's schema checks every line the tests feed. */
function event(type: string, fields: Record<string, unknown>): TrainerEvent {
  return trainerEventSchema.parse({ v: 1, seq: 1, time: 1_700_000_000, type, ...fields })
}

const started = event('started', {
  step: 0,
  totalSteps: 12,
  epochs: 1,
  examples: 4,
  device: 'cpu',
  dtype: 'float32',
  trainableParams: 1,
  totalParams: 2,
})
const step = event('step', {
  step: 5,
  totalSteps: 12,
  loss: 1.25,
  lr: 1e-4,
  gradNorm: 0.5,
  tokens: 64,
  epoch: 0.4,
  tokensPerSecond: 300,
  mfu: 0.1,
})
const checkpoint = event('checkpoint', { step: 5, name: 'step-5', kind: 'periodic', path: 'checkpoints/step-5', loss: 1.25, bytes: 2048 })
const completed = event('completed', { step: 12, adapterPath: 'adapter' })
const paused = event('paused', { step: 6, checkpoint: 'pause-6' })
const cancelled = event('cancelled', { step: 6 })
const failed = event('failed', { error: 'CUDA error', traceback: 'Traceback...', field: 'model.path' })
const adapterHere = { folder: '/jobs/j/adapter', file: '/jobs/j/adapter/adapter_model.safetensors', present: true }
const adapterMissing = { ...adapterHere, present: false }
const exit = (stopReason: 'cancel' | 'watchdog' | 'shutdown' | null, reportedFinal = false): JobEvent => ({
  type: 'exit',
  exit: { exitCode: 1, signal: null },
  stopReason,
  reportedFinal,
  watchdogSeconds: 120,
  terminalTail: 'last lines',
})

interface Case {
  name: string
  event: JobEvent
  circumstances?: Omit<Circumstances, 'now'>
  /** The states the event moves, and where to; every other state keeps its status. */
  from: readonly JobStatus[]
  to?: JobStatus
}

const none: readonly JobStatus[] = []
const cases: Case[] = [
  { name: 'started', event: started, from: ['starting'], to: 'running' },
  { name: 'step', event: step, from: ['starting'], to: 'running' },
  { name: 'checkpoint', event: checkpoint, from: none },
  { name: 'completed, adapter on disk', event: completed, circumstances: { adapter: adapterHere }, from: liveStatuses, to: 'completed' },
  { name: 'completed, adapter missing', event: completed, circumstances: { adapter: adapterMissing }, from: liveStatuses, to: 'failed' },
  {
    name: 'completed while cancelling',
    event: completed,
    circumstances: { adapter: adapterHere, cancelling: true },
    from: liveStatuses,
    to: 'completed',
  },
  { name: 'paused', event: paused, from: liveStatuses, to: 'paused' },
  { name: 'paused while cancelling', event: paused, circumstances: { cancelling: true }, from: liveStatuses, to: 'cancelled' },
  { name: 'cancelled', event: cancelled, from: liveStatuses, to: 'cancelled' },
  { name: 'failed', event: failed, from: liveStatuses, to: 'failed' },
  { name: 'failed while cancelling', event: failed, circumstances: { cancelling: true }, from: liveStatuses, to: 'cancelled' },
  ...['dataset', 'memory', 'oom', 'eval', 'log', 'heartbeat'].map((type) => ({ name: type, event: noteEvent(type), from: none })),
  { name: 'launch', event: { type: 'launch' }, from: ['queued'], to: 'starting' },
  { name: 'launchFailed', event: { type: 'launchFailed', message: 'no python' }, from: ['starting'], to: 'failed' },
  { name: 'withdraw', event: { type: 'withdraw' }, from: ['starting'], to: 'queued' },
  { name: 'pauseRequest', event: { type: 'pauseRequest' }, from: ['starting', 'running'], to: 'pausing' },
  { name: 'resumeRequest', event: { type: 'resumeRequest', config, step: 3 }, from: ['paused', 'interrupted', 'failed'], to: 'queued' },
  {
    name: 'cancelRequest',
    event: { type: 'cancelRequest' },
    from: ['queued', 'starting', 'running', 'pausing', 'paused', 'interrupted'],
    to: 'cancelled',
  },
  { name: 'exit without a final event', event: exit(null), from: liveStatuses, to: 'failed' },
  { name: 'exit after cancel, no final event', event: exit('cancel'), from: liveStatuses, to: 'cancelled' },
  { name: 'exit after cancel, trainer had paused', event: exit('cancel', true), from: [...liveStatuses, 'paused'], to: 'cancelled' },
  { name: 'exit on shutdown', event: exit('shutdown'), from: liveStatuses, to: 'interrupted' },
  { name: 'exit after the watchdog', event: exit('watchdog'), from: liveStatuses, to: 'failed' },
  { name: 'lost', event: { type: 'lost' }, from: liveStatuses, to: 'interrupted' },
]

function noteEvent(type: string): TrainerEvent {
  const fields: Record<string, Record<string, unknown>> = {
    dataset: { format: 'alpaca', examples: 4, skipped: 0, truncated: 0, validationExamples: 0 },
    memory: { estimatedMb: 100, freeMb: null, fits: null, detail: {} },
    oom: { step: 2, batchSize: 4, maxSeqLength: 512, retry: true, newBatchSize: 2, newGradientAccumulation: 2 },
    eval: { step: 2, loss: 1.5 },
    log: { level: 'info', message: 'hello' },
    heartbeat: { phase: 'training' },
  }
  return event(type, fields[type] as Record<string, unknown>)
}

describe('job lifecycle reducer', () => {
  for (const testCase of cases) {
    it(`${testCase.name}: moves ${testCase.from.join(', ') || 'no state'}${testCase.to ? ` to ${testCase.to}` : ''}, and only as the state table allows`, () => {
      for (const status of jobStatuses) {
        const change = reduce(job(status), testCase.event, { now, ...testCase.circumstances })
        const after = change.fields.status ?? status
        expect(after, status).toBe(testCase.from.includes(status) ? testCase.to : status)
        expect(transitionProblem(status, after), status).toBeUndefined()
        // A status change is always something every window is told.
        if (after !== status) expect(change.broadcast, status).toContain('job.updated')
      }
    })
  }

  it('writes progress on started and step, and stores the step as a metric point in ms', () => {
    expect(reduce(job('running'), started, { now }).fields).toEqual({ step: 0, totalSteps: 12 })
    const change = reduce(job('running'), step, { now })
    expect(change.fields).toEqual({ step: 5, totalSteps: 12, loss: 1.25, tokensPerSecond: 300 })
    expect(change.metric).toEqual({
      step: 5,
      loss: 1.25,
      lr: 1e-4,
      gradNorm: 0.5,
      tokens: 64,
      epoch: 0.4,
      tokensPerSecond: 300,
      mfu: 0.1,
      time: 1_700_000_000_000,
    })
    expect(change.broadcast).toEqual(['job.updated', 'job.metrics'])
  })

  it('stores a checkpoint without changing the job or telling anyone', () => {
    const change = reduce(job('running'), checkpoint, { now })
    expect(change.fields).toEqual({})
    expect(change.checkpoint).toEqual({ name: 'step-5', kind: 'periodic', step: 5, loss: 1.25, time: 1_700_000_000_000, bytes: 2048 })
    expect(change.broadcast).toEqual([])
  })

  it('completes with the adapter folder, or fails naming the file it looked for', () => {
    expect(reduce(job('running'), completed, { now, adapter: adapterHere }).fields).toEqual({
      ...{ status: 'completed', step: 12, adapterPath: '/jobs/j/adapter', finishedAt: 1_700_000_000_000, error: null },
    })
    const missing = reduce(job('running'), completed, { now, adapter: adapterMissing }).fields
    expect(missing.status).toBe('failed')
    expect(missing.error?.message).toBe(
      'the trainer reported completed but the adapter is missing at /jobs/j/adapter/adapter_model.safetensors',
    )
    expect(() => reduce(job('running'), completed, { now })).toThrow(/adapter check/)
  })

  it('keeps what each final event says: the pause checkpoint, the error and its field', () => {
    expect(reduce(job('pausing'), paused, { now }).fields).toEqual({ status: 'paused', step: 6, pausedCheckpoint: 'pause-6' })
    expect(reduce(job('running'), failed, { now }).fields).toEqual({
      ...{ status: 'failed', finishedAt: 1_700_000_000_000 },
      error: { message: 'CUDA error', traceback: 'Traceback...', field: 'model.path' },
    })
    // Cancelling wins over a pause or a failure, and clears the error.
    expect(reduce(job('running', { step: 4 }), failed, { now, cancelling: true }).fields).toEqual({
      status: 'cancelled',
      step: 4,
      error: null,
      finishedAt: 1_700_000_000_000,
    })
  })

  it('stores report events as notes, except debug log lines and heartbeats', () => {
    for (const type of ['dataset', 'memory', 'oom', 'eval', 'log']) {
      const change = reduce(job('running'), noteEvent(type), { now })
      expect(change.note?.type, type).toBe(type)
      expect(change.broadcast, type).toEqual(['job.report'])
    }
    expect(reduce(job('running'), event('log', { level: 'debug', message: 'x' }), { now })).toEqual({ fields: {}, broadcast: [] })
    expect(reduce(job('running'), noteEvent('heartbeat'), { now })).toEqual({ fields: {}, broadcast: [] })
  })

  it('launches with a start time kept across resumes, and resumes from the given step with the error cleared', () => {
    expect(reduce(job('queued', { queuePosition: 1 }), { type: 'launch' }, { now }).fields).toEqual({
      status: 'starting',
      queuePosition: null,
      startedAt: now,
      error: null,
      finishedAt: null,
    })
    expect(reduce(job('queued', { startedAt: 5 }), { type: 'launch' }, { now }).fields.startedAt).toBe(5)
    const resumed = { ...config, resumeFrom: 'pause-6' }
    const error = { message: 'x', traceback: null, field: null }
    expect(
      reduce(job('failed', { error, finishedAt: 9, adapterPath: '/a' }), { type: 'resumeRequest', config: resumed, step: 6 }, { now })
        .fields,
    ).toEqual({
      ...{ status: 'queued', config: resumed, step: 6, error: null, finishedAt: null, adapterPath: null },
    })
  })

  it('explains an exit without a result: the code, or the watchdog, with the terminal tail; the pid is cleared either way', () => {
    const crashed = reduce(job('running'), exit(null), { now }).fields
    expect(crashed).toMatchObject({ status: 'failed', finishedAt: now, pid: null, pidStartTime: null })
    expect(crashed.error).toEqual({
      message: 'the trainer exited with code 1 without reporting a result',
      traceback: 'last lines',
      field: null,
    })
    const killed = reduce(
      job('running'),
      { ...(exit(null) as Extract<JobEvent, { type: 'exit' }>), exit: { exitCode: 0, signal: 9 } },
      { now },
    ).fields
    expect(killed.error?.message).toBe('the trainer exited with signal 9 without reporting a result')
    expect(reduce(job('running'), exit('watchdog'), { now }).fields.error?.message).toBe(
      'stopped responding: no event or heartbeat for 120 s',
    )
    // A job already ended by its final event only loses its pid, and nobody needs telling.
    expect(reduce(job('completed'), exit(null, true), { now })).toEqual({ fields: { pid: null, pidStartTime: null }, broadcast: [] })
  })
})
