/**
 * What each `tunedeck` command does over the connection, and the exit code it ends with.
 * Output goes to `out` (results) and `err` (messages), so tests can read both.
 */
import type { LibraryAdapter } from '@shared/adapters'
import type { Job, JobStatus, MetricPoint } from '@shared/jobs'
import { escapeControls } from '@shared/names'
import { chat } from './chat'
import type { CliClient } from './client'
import { UsageError, type CommandLine } from './commands'
import { mergedGgufTypes, type MergedGgufType } from '@shared/exports'
import { startInput, type SettingsSources } from './settings'
import { datasetCommand } from './datasets'
import { pushJob } from './push'
import { evaluateJob } from './evaluate'
import type { Output } from './output'

/** How a followed job ended, as the trainer's own exit codes say it. */
export const endCodes: Partial<Record<JobStatus, number>> = { completed: 0, failed: 1, interrupted: 1, paused: 3, cancelled: 4 }

/** After a job ends, the pty may still deliver its last lines: wait this long for quiet. */
const settleMs = 1_000

function describe(job: Job): string {
  const progress = job.totalSteps > 0 ? `step ${job.step}/${job.totalSteps}` : 'not started'
  const loss = job.loss === null ? '' : `, loss ${job.loss.toPrecision(4)}`
  const queue = job.queuePosition !== null ? `, #${job.queuePosition} in queue` : ''
  return `${job.id}  ${job.status}  ${progress}${loss}${queue}  ${job.name}`
}

function statusLines(job: Job): string {
  const lines = [
    `Job ${job.id}: ${job.name}`,
    `Status: ${job.status}${job.queuePosition !== null ? ` (#${job.queuePosition} in queue)` : ''}`,
    `Progress: ${job.totalSteps > 0 ? `step ${job.step} of ${job.totalSteps}` : 'not started'}`,
    `Loss: ${job.loss === null ? '—' : job.loss.toPrecision(4)}`,
    `Model: ${job.config.model.selftest ? 'the self-test model' : job.config.model.path}`,
    `Dataset: ${job.config.dataset.path}${job.config.dataset.mix.length > 0 ? ` (weight ${job.config.dataset.weight})` : ''}`,
    ...job.config.dataset.mix.map((entry) => `Mixed with: ${entry.path} (${entry.format}, weight ${entry.weight})`),
  ]
  if (job.adapterPath) lines.push(`Adapter: ${job.adapterPath}`)
  if (job.error) lines.push(`Error: ${job.error.message}`)
  return lines.join('\n')
}

/** Runs one parsed command; resolves with the exit code. */
export async function runCommand(client: CliClient, line: CommandLine, io: Output, sources: SettingsSources): Promise<number> {
  const [jobId = '', name = ''] = line.arguments
  // Names come from the host and may predate its refusal of control characters: they reach the terminal escaped.
  const print = (value: unknown, text: string): void =>
    io.out(line.json ? escapeControls(JSON.stringify(value, null, 2), true) : escapeControls(text))
  switch (line.command) {
    case 'start': {
      const job = await client.request('jobs.create', startInput(line.flags, sources) as never)
      if (line.flags['--follow'] === true) {
        if (!line.json) io.err(`Started job ${job.id} (${job.name}); following its terminal.`)
        // While it waits its turn the terminal is silent: say where it stands in the queue.
        const stopQueue = line.json ? () => undefined : await reportQueue(client, job, io)
        try {
          return await followTerminal(client, job.id, io, false)
        } finally {
          stopQueue()
        }
      }
      print(job, `Started job ${job.id} (${job.name})${job.queuePosition !== null ? `, #${job.queuePosition} in the queue` : ''}.`)
      return 0
    }
    case 'jobs': {
      const jobs = await client.request('jobs.list', {})
      print(jobs, jobs.length === 0 ? 'No jobs yet: start one with tunedeck start.' : jobs.map(describe).join('\n'))
      return 0
    }
    case 'status': {
      const job = await client.request('jobs.get', { jobId })
      print(job, statusLines(job))
      return 0
    }
    case 'logs':
      if (line.flags['--follow'] === true) return await followTerminal(client, jobId, io, true)
      io.out((await client.request('jobs.terminal', { jobId })).text)
      return 0
    case 'metrics':
      return await metrics(client, jobId, io, line.flags['--follow'] === true)
    case 'cancel': {
      const job = await cancelled(client, jobId)
      print(
        job,
        ended(job.status)
          ? `Job ${job.id} is ${job.status}.`
          : `Job ${job.id} is still ${job.status}: it did not stop within a minute; tunedeck status ${job.id} tells when it has.`,
      )
      return 0
    }
    case 'pause':
    case 'resume': {
      const job = await client.request(`jobs.${line.command}`, { jobId })
      print(job, `Job ${job.id} is ${job.status}.`)
      return 0
    }
    case 'checkpoint':
      await client.request('jobs.checkpoint', { jobId, name })
      print({ ok: true, jobId, name }, `Job ${jobId} saves checkpoint "${name}" after its current step.`)
      return 0
    case 'export':
      return await exportJob(client, line, io, sources)
    case 'eval':
      return await evaluateJob(client, line, io, sources)
    case 'push':
      return await pushJob(client, line, io)
    case 'chat':
      return await chat(client, line, io)
    case 'adapters': {
      const adapters = await client.request('adapters.list', {})
      const describeAdapter = (adapter: LibraryAdapter) =>
        `${adapter.id}  ${adapter.name}  base ${adapter.baseModel}${adapter.baseAvailable ? '' : ' (not on this machine)'}  rank ${adapter.rank}`
      print(
        adapters,
        adapters.length === 0 ? 'No adapters in the library: import or combine one in the app.' : adapters.map(describeAdapter).join('\n'),
      )
      return 0
    }
    case 'bundle': {
      const out = line.flags['--out']
      if (typeof out !== 'string') throw new UsageError('bundle needs --out DIR, the new folder to write')
      const written = await client.request('jobs.bundle', { jobId, out: sources.resolvePath(out) })
      print(
        written,
        `Wrote the bundle of job ${jobId} to ${written.path}: run torchrun.sh on each node, sbatch slurm.sbatch, or sky launch skypilot.yaml.`,
      )
      return 0
    }
    case 'import-run': {
      const job = await client.request('jobs.import_run', { path: sources.resolvePath(line.arguments[0] ?? '') })
      print(job, `Imported the run as job ${job.id} (${job.status}, step ${job.step}).`)
      return 0
    }
    case 'datasets':
    case 'import':
      return await datasetCommand(client, line, print, sources)
  }
}

/** Exports the job, showing each phase on stderr; prints the zip's path (or the result as JSON). */
async function exportJob(client: CliClient, line: CommandLine, io: Output, sources: SettingsSources): Promise<number> {
  const [jobId = ''] = line.arguments
  const out = line.flags['--out']
  const checkpoint = line.flags['--checkpoint']
  const gguf = line.flags['--gguf']
  let lastPhase = ''
  const stop = client.on('export.progress', (progress) => {
    if (progress.jobId !== jobId || progress.phase === lastPhase || line.json) return
    lastPhase = progress.phase
    io.err(`${progress.phase}${progress.message ? `: ${progress.message}` : ''}`)
  })
  try {
    const result = await client.request('exports.start', {
      jobId,
      checkpoint: typeof checkpoint === 'string' ? checkpoint : null,
      merged: line.flags['--merged'] === true,
      ...(typeof gguf === 'string' ? { ggufType: ggufTypeOf(gguf) } : {}),
      ...(typeof out === 'string' ? { destination: sources.resolvePath(out) } : {}),
    })
    const mb = (result.bytes / 1e6).toFixed(1)
    io.out(
      line.json
        ? JSON.stringify(result, null, 2)
        : `Exported ${result.files} files (${mb} MB), checked against its manifest: ${result.path}`,
    )
    return 0
  } finally {
    stop()
  }
}

/** How long `cancel` waits for the trainer to stop before it reports the job as it is. */
const cancelWaitMs = 60_000

/** Cancels the job and waits until it has ended, so what is printed is what happened. */
async function cancelled(client: CliClient, jobId: string): Promise<Job> {
  let latest: Job | null = null
  let wake: (() => void) | null = null
  const stop = client.on('job.updated', (job) => {
    if (job.id !== jobId) return
    latest = job
    wake?.()
  })
  try {
    latest = await client.request('jobs.cancel', { jobId })
    // An update may have come before the reply: read the job once more after subscribing.
    if (!ended(latest.status)) latest = await client.request('jobs.get', { jobId })
    const deadline = Date.now() + cancelWaitMs
    while (!ended(latest.status) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 1_000)
      })
      if (!ended((latest as Job).status)) latest = await client.request('jobs.get', { jobId })
    }
    return latest
  } finally {
    stop()
  }
}

/** "Queued, #2, after "Self-test"." each time a queued job's place changes; returns the unsubscribe. */
async function reportQueue(client: CliClient, job: Job, io: Output): Promise<() => void> {
  let shown: number | null = null
  const show = async (current: Job): Promise<void> => {
    if (current.status !== 'queued' || current.queuePosition === null || current.queuePosition === shown) return
    shown = current.queuePosition
    const jobs = await client.request('jobs.list', {})
    // The queue may have launched the job since this update was sent: then it waits behind nothing.
    if (jobs.some((other) => other.id === current.id && other.status !== 'queued')) return
    const running = jobs.filter(
      (other) => other.id !== current.id && (other.status === 'starting' || other.status === 'running' || other.status === 'pausing'),
    )
    const ahead = jobs.find((other) => other.status === 'queued' && other.queuePosition === (current.queuePosition ?? 0) - 1) ?? running[0]
    const queue = await client.request('queue.get', {})
    const stopped = !queue.running ? ' The queue is on hold: press Run the queue in the app for the job to run.' : ''
    io.err(`Queued, #${current.queuePosition}${ahead ? `, after "${ahead.name}"` : ''}.${stopped}`)
  }
  const stop = client.on('job.updated', (update) => {
    if (update.id === job.id) void show(update).catch(() => undefined)
  })
  await show(job)
  return stop
}

/** The --gguf value as a type, or a UsageError listing the types. */
function ggufTypeOf(value: string): MergedGgufType {
  const found = mergedGgufTypes.find((type) => type.toLowerCase() === value.toLowerCase())
  if (!found) throw new UsageError(`--gguf takes one of ${mergedGgufTypes.join(', ')}, not "${value}".`)
  return found
}

/** Whether a status means the job's process is over (for now). */
function ended(status: JobStatus): boolean {
  return endCodes[status] !== undefined
}

/**
 * Prints the job's terminal so far (unless `fromStart` is false: a job just started has
 * none), then every chunk as it arrives, until the job ends; resolves with its end code.
 */
async function followTerminal(client: CliClient, jobId: string, io: Output, fromStart: boolean): Promise<number> {
  let live = false
  let lastChunk = Date.now()
  let finalStatus: JobStatus | null = null
  const stopTerminal = client.on('job.terminal', (chunk) => {
    if (chunk.jobId !== jobId || !live) return
    lastChunk = Date.now()
    io.out(chunk.data)
  })
  const stopUpdates = client.on('job.updated', (job) => {
    if (job.id === jobId && ended(job.status)) finalStatus = job.status
  })
  try {
    // Subscribed first, so nothing after the snapshot is missed; chunks before it are in it.
    const job = await client.request('jobs.get', { jobId })
    if (fromStart) io.out((await client.request('jobs.terminal', { jobId })).text)
    live = true
    finalStatus ??= ended(job.status) ? job.status : null
    return await new Promise<number>((resolve) => {
      const timer = setInterval(() => {
        if (finalStatus !== null && Date.now() - lastChunk >= settleMs) {
          clearInterval(timer)
          resolve(endCodes[finalStatus] ?? 1)
        }
      }, 100)
      client.onClose(() => {
        clearInterval(timer)
        io.err('Tunedeck stopped while the job was followed.')
        resolve(1)
      })
    })
  } finally {
    stopTerminal()
    stopUpdates()
  }
}

/** Every step as one JSON line; with `follow`, new steps until the job ends. */
async function metrics(client: CliClient, jobId: string, io: Output, follow: boolean): Promise<number> {
  let lastStep = 0
  const printPoints = (points: readonly MetricPoint[]): void => {
    for (const point of points) {
      if (point.step <= lastStep) continue
      lastStep = point.step
      io.out(`${JSON.stringify(point)}\n`)
    }
  }
  const buffered: MetricPoint[] = []
  let live = false
  let finalStatus: JobStatus | null = null
  const stopMetrics = client.on('job.metrics', (event) => {
    if (event.jobId !== jobId) return
    if (live) printPoints(event.points)
    else buffered.push(...event.points)
  })
  const stopUpdates = client.on('job.updated', (job) => {
    if (job.id === jobId && ended(job.status)) finalStatus = job.status
  })
  try {
    const job = await client.request('jobs.get', { jobId })
    printPoints(await client.request('jobs.metrics', { jobId }))
    printPoints(buffered.sort((a, b) => a.step - b.step))
    live = true
    if (!follow) return 0
    finalStatus ??= ended(job.status) ? job.status : null
    return await new Promise<number>((resolve) => {
      const timer = setInterval(() => {
        if (finalStatus === null) return
        clearInterval(timer)
        // The last steps' event may trail the status change: one more read catches them.
        void client
          .request('jobs.metrics', { jobId })
          .then(printPoints, () => undefined)
          .then(() => resolve(endCodes[finalStatus!] ?? 1))
      }, 200)
    })
  } finally {
    stopMetrics()
    stopUpdates()
  }
}
