/**
 * Names with control characters, through the real WebSocket of a real serve and the real
 * command line client: a typed job, dataset or adapter name holding ESC, BEL or a line break is
 * refused naming the field; a job's default name taken from file names that hold them is
 * cleaned; and `tunedeck datasets` prints a name stored before this rule escaped, so it cannot
 * clear the screen or retitle the terminal. No Python: the job's start fails at once.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Job } from '@shared/jobs'
import { hasControlCharacters } from '@shared/names'
import { CliClient } from '../../electron/cli/client'
import { parseCommandLine, type CommandLine } from '../../electron/cli/commands'
import { runCommand } from '../../electron/cli/run'
import { writeServeFile } from '../../electron/host/transport/serveFile'
import { startWireServe, type WireClient, type WireServe, restoreVariable } from './wireServe'

const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-names-'))
const allowedDir = join(workDir, 'allowed')
const savedPython = process.env.TUNEDECK_PYTHON
const hostile = ['clear\u001b[2J', 'bell\u0007', 'two\nlines', 'csi\u009b31m', 'bidi\u202eevil']
let serve: WireServe
let client: WireClient

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON = join(workDir, 'no-python')
  mkdirSync(allowedDir, { recursive: true })
  serve = await startWireServe({ workDir, roots: [allowedDir] })
  client = await serve.connect()
})

afterAll(async () => {
  await serve?.stop()
  restoreVariable('TUNEDECK_PYTHON', savedPython)
  rmSync(workDir, { recursive: true, force: true })
})

describe('names with control characters', () => {
  it('refuses them in typed job, dataset and adapter names, naming the field', async () => {
    const dataset = join(allowedDir, 'train.jsonl')
    writeFileSync(dataset, `${JSON.stringify({ prompt: 'Hi', completion: 'Hello' })}\n`)
    for (const name of hostile) {
      const attempts = [
        ['jobs.create', { name, model: { selftest: true }, dataset: { path: dataset } }],
        ['datasets.import', { path: dataset, name }],
        ['datasets.rename', { datasetId: 'abc123', name }],
        ['adapters.combine', { name, mode: 'average', sources: [{ adapterId: 'a' }, { adapterId: 'b' }] }],
        ['adapters.import', { path: dataset, name }],
      ] as const
      for (const [route, input] of attempts) {
        const response = await client.request(route, input)
        expect(response, `${route} ${JSON.stringify(name)}`).toMatchObject({
          ok: false,
          error: { code: 'invalid_input', data: { fields: { name: expect.stringContaining('control characters') as string } } },
        })
      }
    }
  })

  it('cleans a default job name taken from file names', async () => {
    const model = join(allowedDir, 'model\u001b]0;owned\u0007')
    mkdirSync(model)
    writeFileSync(join(model, 'config.json'), '{"model_type": "llama"}\n')
    const dataset = join(allowedDir, 'data\u001b[2J.jsonl')
    writeFileSync(dataset, `${JSON.stringify({ prompt: 'Hi', completion: 'Hello' })}\n`)
    const response = await client.request('jobs.create', { model: { path: model }, dataset: { path: dataset } })
    if (!response.ok) throw new Error(response.error.message)
    const job = response.output as Job
    expect(job.name).toBe('model ]0;owned on data [2J.jsonl')
    expect(hasControlCharacters(job.name)).toBe(false)
  })

  it('prints a stored name escaped on the command line', async () => {
    // A dataset stored before names were checked.
    const folder = join(serve.dataDir, 'datasets', 'feedface00000000')
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, 'x.jsonl'), '{}\n')
    const stored = {
      id: 'feedface00000000',
      name: 'old\u001b[2J\u0007\u009b31m',
      fileName: 'x.jsonl',
      format: 'auto',
      rows: 1,
      usable: 1,
      bad: 0,
      bytes: 3,
      sha256: '0'.repeat(64),
      importedAt: '2026-01-01T00:00:00Z',
      checkedAt: '2026-01-01T00:00:00Z',
    }
    writeFileSync(join(folder, 'dataset.json'), JSON.stringify(stored))
    writeServeFile(serve.dataDir, { port: serve.server.port, token: serve.server.token, url: serve.server.url })
    const cli = await CliClient.connect(serve.dataDir)
    const printed: string[] = []
    const io = { out: (text: string) => printed.push(text), err: (text: string) => printed.push(text) }
    const sources = { readFile: () => '', resolvePath: (file: string) => file, exists: () => false }
    try {
      for (const argv of [['datasets'], ['datasets', '--json']]) {
        expect(await runCommand(cli, parseCommandLine(argv) as CommandLine, io, sources)).toBe(0)
      }
    } finally {
      cli.close()
    }
    const [text = '', json = ''] = printed
    expect(text).toContain('old\\x1b[2J\\x07\\x9b31m')
    expect(hasControlCharacters(text.replaceAll('\n', ''))).toBe(false)
    expect(hasControlCharacters(json.replaceAll('\n', ''))).toBe(false)
    expect((JSON.parse(json) as Array<{ name: string }>)[0]?.name).toBe(stored.name)
  })
})
