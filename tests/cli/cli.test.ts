/**
 * The `tunedeck` command line against a real `serve` (the built out/main/serve.js, the real
 * trainer on CPU, a scratch data folder): it starts the self-test and follows it to the end,
 * exports it, chats with it (and with its zip imported into the adapter library), pauses and resumes a job, and each usage mistake gets its one-line message and
 * exit code.
 * Needs the build (npm test builds before it runs vitest) and TUNEDECK_PYTHON.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatasetEntry } from '@shared/datasets'
import { AdapterService } from '../../electron/host/adapters/service'
import type { Job, MetricPoint } from '@shared/jobs'
import { trainerPython } from '../host/trainerPython'

const repoDir = resolve(__dirname, '../..')
const bin = join(repoDir, 'bin', 'tunedeck.mjs')
const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-cli-'))
const dataDir = join(workDir, 'data')
let serve: ChildProcess

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the command line to its end. */
function tunedeck(args: string[], options: { dataDir?: string | null; input?: string } = {}): Promise<Ran> {
  const withData = options.dataDir === null ? args : [...args, '--data-dir', options.dataDir ?? dataDir]
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...withData], { cwd: workDir, env: { ...process.env, TUNEDECK_DATA_DIR: '' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('close', (code) => done({ code, stdout, stderr }))
    if (options.input !== undefined) child.stdin.end(options.input)
  })
}

async function json<T>(args: string[]): Promise<T> {
  const ran = await tunedeck([...args, '--json'])
  expect(ran.stderr).toBe('')
  expect(ran.code).toBe(0)
  return JSON.parse(ran.stdout) as T
}

async function waitForStatus(jobId: string, statuses: Job['status'][], timeoutMs = 120_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = await json<Job>(['status', jobId])
    if (statuses.includes(job.status)) return job
    if (Date.now() > deadline) throw new Error(`job ${jobId} is ${job.status}, not ${statuses.join(' or ')}`)
    await new Promise((wait) => setTimeout(wait, 200))
  }
}

beforeAll(async () => {
  serve = spawn(process.execPath, [join(repoDir, 'out', 'main', 'serve.js'), '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, TUNEDECK_PYTHON: trainerPython() },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let printed = ''
  serve.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk))
  await new Promise<void>((ready, fail) => {
    serve.stdout?.on('data', (chunk: Buffer) => {
      printed += chunk.toString()
      if (printed.includes('serving at')) ready()
    })
    serve.once('exit', (code) => fail(new Error(`serve exited with ${code}: ${printed}`)))
  })
}, 60_000)

afterAll(async () => {
  if (serve.exitCode === null) {
    serve.kill('SIGTERM')
    await new Promise((done) => serve.once('exit', done))
  }
  rmSync(workDir, { recursive: true, force: true })
})

describe('tunedeck against serve', () => {
  it('finds serve through serve.json, readable by the user alone', () => {
    const file = join(dataDir, 'serve.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ port: expect.any(Number), token: expect.any(String) })
  })

  it('starts the self-test and follows its terminal to the end, exiting 0', async () => {
    const ran = await tunedeck(['start', '--model', 'selftest', '--name', 'cli self-test', '--follow'])
    expect(ran.code).toBe(0)
    expect(ran.stderr).toMatch(/^Started job \w+ \(cli self-test\); following its terminal\.\n$/)
    expect(ran.stdout).toMatch(/step 36\/36 \| loss/)
    expect(ran.stdout).toContain('[tunedeck] completed 36 steps')
    const jobs = await json<Job[]>(['jobs'])
    expect(jobs.map((job) => [job.name, job.status])).toEqual([['cli self-test', 'completed']])
    const metrics = (await tunedeck(['metrics', jobs[0]!.id])).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as MetricPoint)
    expect(metrics.map((point) => point.step)).toEqual(Array.from({ length: 36 }, (_, index) => index + 1))
    expect((await tunedeck(['status', jobs[0]!.id])).stdout).toContain('Status: completed')

    // Export it; serve writes only inside its roots (the data folder is one).
    const zip = join(dataDir, 'cli-self-test.zip')
    const exported = await tunedeck(['export', jobs[0]!.id, '--out', zip])
    expect(exported.code).toBe(0)
    expect(exported.stdout).toMatch(/^Exported \d+ files \([\d.]+ MB\), checked against its manifest: .*cli-self-test\.zip\n$/)
    expect(exported.stderr).toContain('verifying')
    expect(statSync(zip).size).toBeGreaterThan(0)
    const outside = await tunedeck(['export', jobs[0]!.id, '--out', '/etc/tunedeck.zip'])
    expect(outside.code).toBe(2)
    expect(outside.stderr).toMatch(/^tunedeck: destination: no folder Tunedeck may write to for \/etc\/tunedeck\.zip/)
  }, 300_000)

  it("chats with the finished job's adapter: each stdin line a turn, the answer streamed, the conversation kept", async () => {
    const [job] = await json<Job[]>(['jobs'])
    const greedy = ['--temperature', '0', '--max-new-tokens', '12']
    const ran = await tunedeck(['chat', job!.id, ...greedy, '--json'], { input: 'What is two plus two?\nAnd three?\n' })
    expect(ran.code).toBe(0)
    const answers = ran.stdout
      .trim()
      .split('\n')
      .map((text) => JSON.parse(text) as { text: string; reason: string; prompt: string })
    expect(answers.map((answer) => answer.reason).every((reason) => reason === 'eos' || reason === 'length')).toBe(true)
    // The second turn is asked with the first question and its answer before it.
    expect(answers[1]?.prompt).toBe(
      `<|im_start|>user\nWhat is two plus two?<|im_end|>\n<|im_start|>assistant\n${answers[0]?.text}<|im_end|>\n<|im_start|>user\nAnd three?<|im_end|>\n<|im_start|>assistant\n`,
    )
    // Streamed, the same greedy answer arrives token by token on stdout, and the CPU is named on stderr.
    const streamed = await tunedeck(['chat', job!.id, ...greedy], { input: 'What is two plus two?\nAnd three?\n' })
    expect(streamed.code).toBe(0)
    expect(streamed.stdout.split('\n')[0]).toBe(answers[0]?.text)
    // Once per conversation, not at every answer's start and end.
    expect(streamed.stderr.split('No CUDA GPU').length - 1).toBe(1)
    expect(await tunedeck(['chat', job!.id, '--seed', 'x'], { input: '' })).toMatchObject({
      code: 2,
      stderr: 'tunedeck: --seed takes a number, not "x".\n',
    })

    // The zip exported above, imported into the adapter library (a folder serve lists as it is), chats as the job did.
    const imported = await new AdapterService({
      dataDir,
      appVersion: 'test',
      pythonRuntimeDir: '',
      resolvePython: () => Promise.reject(new Error('unused')),
      getJob: () => Promise.reject(new Error('unused')),
    }).import({
      path: join(dataDir, 'cli-self-test.zip'),
      name: 'From the zip',
    })
    const listed = await tunedeck(['adapters'])
    expect(listed.stdout).toContain(`${imported.id}  From the zip  base ${imported.baseModel}  rank ${imported.rank}`)
    const library = await tunedeck(['chat', imported.id, ...greedy, '--json'], { input: 'What is two plus two?\n' })
    expect(library.code).toBe(0)
    expect(JSON.parse(library.stdout)).toMatchObject({ text: answers[0]?.text, prompt: answers[0]?.prompt })
    expect(await tunedeck(['chat', imported.id, '--checkpoint', 'step-4'], { input: '' })).toMatchObject({
      code: 2,
      stderr: `tunedeck: --checkpoint names a checkpoint of a job, and ${imported.id} is a library adapter: leave --checkpoint out.\n`,
    })
  }, 120_000)

  it('pauses and resumes a job: logs --follow exits 3 on the pause and 0 when it completes, no step lost', async () => {
    const started = await json<Job>(['start', '--model', 'selftest', '--set', 'training.epochs=6', '--name', 'long'])
    await waitForStatus(started.id, ['running'])
    const following = tunedeck(['logs', started.id, '--follow'])
    expect((await tunedeck(['pause', started.id])).stdout).toMatch(/is pausing\.|is paused\./)
    const paused = await following
    expect(paused.code).toBe(3)
    expect(paused.stdout).toMatch(/paused at step \d+/)
    const pausedAt = (await waitForStatus(started.id, ['paused'])).step
    expect(pausedAt).toBeGreaterThan(0)

    expect((await tunedeck(['resume', started.id])).code).toBe(0)
    const resumed = await tunedeck(['logs', started.id, '--follow'])
    expect(resumed.code).toBe(0)
    expect(resumed.stdout).toContain(`resuming from pause-${pausedAt} at step ${pausedAt}`)
    const job = await waitForStatus(started.id, ['completed'])
    const steps = (await tunedeck(['metrics', started.id])).stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as MetricPoint).step)
    expect(steps).toEqual(Array.from({ length: job.totalSteps }, (_, index) => index + 1))
  }, 240_000)

  it('answers each usage mistake in one line with exit code 2, a refusal by the host naming the setting', async () => {
    const cases: [string[], RegExp][] = [
      [['train'], /^tunedeck: Unknown command "train": run tunedeck --help for the list\.\n$/],
      [['start'], /^tunedeck: tunedeck start needs --model/],
      [['status'], /^tunedeck: tunedeck status needs JOB/],
      [['jobs', '--verbose'], /^tunedeck: tunedeck jobs has no option --verbose/],
      [['start', '--model', 'selftest', '--set', 'training.learningRate=5'], /^tunedeck: .*Learning rate.*\n$/],
    ]
    for (const [args, message] of cases) {
      const ran = await tunedeck(args)
      expect({ args, code: ran.code, stderr: ran.stderr }).toEqual({ args, code: 2, stderr: expect.stringMatching(message) })
      expect(ran.stderr.trim().split('\n')).toHaveLength(1)
    }
    const missing = await tunedeck(['status', 'no-such-job'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^tunedeck: There is no job with id no-such-job/)
    expect((await tunedeck(['--help'], { dataDir: null })).stdout).toContain('Usage: tunedeck COMMAND')
  })

  it('imports a dataset into the library and lists it; the same bytes again are one dataset', async () => {
    // Inside the data folder: serve lets clients name files only under its allowed folders.
    mkdirSync(join(dataDir, 'incoming'), { recursive: true })
    const row = JSON.stringify({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
      ],
    })
    writeFileSync(join(dataDir, 'incoming', 'chat.jsonl'), `${row}\n${row}\n`)
    const imported = await tunedeck(['import', 'data/incoming/chat.jsonl', '--name', 'greetings'])
    expect(imported.code).toBe(0)
    expect(imported.stdout).toMatch(/^Imported: [0-9a-f]{16} {2}greetings {2}openai {2}2 rows/)
    const listed = await json<DatasetEntry[]>(['datasets'])
    expect(listed.map((dataset) => [dataset.name, dataset.format, dataset.usable])).toEqual([['greetings', 'openai', 2]])
    expect((await tunedeck(['import', 'data/incoming/chat.jsonl'])).stdout).toMatch(/^Already in the library: /)
    const refused = await tunedeck(['import', 'data/incoming/missing.jsonl'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/missing\.jsonl/)
  })

  it('says where a followed job waits in the queue, and cancel reports what became of the job', async () => {
    const ahead = await json<Job>(['start', '--model', 'selftest', '--set', 'training.epochs=40', '--name', 'ahead'])
    await waitForStatus(ahead.id, ['running'])
    const following = tunedeck(['start', '--model', 'selftest', '--name', 'behind', '--follow'])
    let behind: Job | undefined
    for (let tries = 0; behind === undefined && tries < 600; tries++) {
      behind = (await json<Job[]>(['jobs'])).find((job) => job.name === 'behind')
      if (behind === undefined) await new Promise((wait) => setTimeout(wait, 100))
    }
    if (!behind) throw new Error('the followed job was not created')
    // Not "is running" for a job the command stopped: it waits for the trainer to end.
    expect(await tunedeck(['cancel', ahead.id])).toMatchObject({ code: 0, stdout: `Job ${ahead.id} is cancelled.\n` })
    expect(await tunedeck(['cancel', behind.id])).toMatchObject({ code: 0, stdout: `Job ${behind.id} is cancelled.\n` })
    const followed = await following
    expect(followed.stderr).toMatch(/\nQueued, #1, after "ahead"\.\n/)
    expect(followed.code).toBe(4)
  }, 240_000)

  it('knows a serve.json left by a serve that crashed', async () => {
    const stale = join(workDir, 'crashed')
    mkdirSync(stale)
    const gone = spawnSync(process.execPath, ['-e', '']).pid
    writeFileSync(join(stale, 'serve.json'), JSON.stringify({ port: 9, token: 'x'.repeat(32), pid: gone, url: 'http://127.0.0.1:9/' }))
    const ran = await tunedeck(['jobs'], { dataDir: stale })
    expect(ran.code).toBe(1)
    expect(ran.stderr).toBe(
      `tunedeck: No Tunedeck is running with the data folder ${stale}: ${join(stale, 'serve.json')} is left from one that stopped (process ${gone} is gone); start one with \`npm run serve\` in the Tunedeck folder (or open the app), or name its data folder with --data-dir or TUNEDECK_DATA_DIR.\n`,
    )
  })

  it('says how to start Tunedeck when none runs for the data folder', async () => {
    const elsewhere = join(workDir, 'empty')
    const ran = await tunedeck(['jobs'], { dataDir: elsewhere })
    expect(ran.code).toBe(1)
    expect(ran.stderr).toBe(
      `tunedeck: No Tunedeck is running with the data folder ${elsewhere} (no serve.json there): start one with \`npm run serve\` in the Tunedeck folder (or open the app), or name its data folder with --data-dir or TUNEDECK_DATA_DIR.\n`,
    )
    expect(existsSync(elsewhere)).toBe(false)
  })
})
