/**
 * The command line driving a Tunedeck on "another machine": a second serve (the real host, the
 * real trainer on CPU) on its own port and data folder, reached only by the address it prints
 * (`--url`, the token in its #fragment), as through an SSH tunnel; and, listening on every
 * address (--host 0.0.0.0), by another address with the Host header that brings. That address is
 * 127.0.0.2, still loopback: tests send traffic to no address outside this machine's loopback.
 * The CLI's own connection and commands run here (electron/cli), in this process.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CliClient, ConnectionError } from '../../electron/cli/client'
import { parseCommandLine, type CommandLine } from '../../electron/cli/commands'
import { runCommand } from '../../electron/cli/run'
import { createHost, type Host } from '../../electron/host/host'
import { startServer, type RunningServer } from '../../electron/host/transport/server'
import { trainerPython } from './trainerPython'
import { extractZip, zipEntries } from './export.helpers'
import { restoreVariable } from './wireServe'
import { zipFolder } from '../../electron/host/jobs/bundleZip'

const ciPython = trainerPython()
const repoDir = resolve(__dirname, '../..')
const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-remote-'))
const savedPython = process.env.TUNEDECK_PYTHON
let host: Host
let remote: RunningServer

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON = ciPython
  const rendererDir = join(workDir, 'renderer')
  mkdirSync(rendererDir, { recursive: true })
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Tunedeck</title>\n')
  host = createHost({
    dataDir: join(workDir, 'remote-data'),
    resourcesDir: join(repoDir, 'resources'),
    pythonRuntimeDir: join(repoDir, 'python-runtime'),
    appVersion: '0.1.0-test',
  })
  await host.start()
  remote = await startServer(host, {
    port: 0,
    bindHost: '0.0.0.0',
    rendererDir,
    roots: [workDir],
    stagingDir: join(workDir, 'remote-data', 'uploads'),
  })
})

afterAll(async () => {
  await remote?.close()
  await host?.shutdown()
  restoreVariable('TUNEDECK_PYTHON', savedPython)
  rmSync(workDir, { recursive: true, force: true })
})

/** Runs `tunedeck ...argv` as main.ts does, against the serve its --url names; returns the exit code and output. */
async function tunedeck(argv: string[]): Promise<{ code: number; out: string }> {
  const line = parseCommandLine(argv) as CommandLine
  let out = ''
  const client = await CliClient.connectUrl(line.url as string, line.token)
  try {
    const io = {
      out: (text: string) => (out += `${text}\n`),
      err: (text: string) => (out += `${text}\n`),
      write: (text: string) => (out += text),
    }
    const sources = { readFile: () => '', resolvePath: (path: string) => resolve(path), exists: () => false }
    return { code: await runCommand(client, line, io, sources), out }
  } finally {
    client.close()
  }
}

describe('a remote serve', () => {
  it('is driven by tunedeck --url: a job started, followed to its end, and read back', async () => {
    expect(remote.url).toMatch(/#token=/)
    const started = await tunedeck(['--url', remote.url, 'start', '--model', 'selftest', '--set', 'training.epochs=1', '--follow'])
    expect(started.code, started.out.slice(-2000)).toBe(0)
    expect(started.out).toContain('completed 12 steps')
    const listed = await tunedeck(['jobs', '--url', remote.url, '--json'])
    const jobs = JSON.parse(listed.out) as { id: string; status: string; step: number }[]
    expect(jobs).toHaveLength(1)
    expect(jobs[0]).toMatchObject({ status: 'completed', step: 12 })
    const metrics = await tunedeck(['--url', remote.url, 'metrics', jobs[0]!.id])
    const steps = metrics.out
      .split('\n')
      .filter((text) => text.trim() !== '')
      .map((text) => (JSON.parse(text) as { step: number }).step)
    expect(steps).toEqual(Array.from({ length: 12 }, (_, index) => index + 1))
  }, 300_000)

  it("exports the job there and sends the zip to another Tunedeck's page, as the page downloads it", async () => {
    const listed = JSON.parse((await tunedeck(['jobs', '--url', remote.url, '--json'])).out) as { id: string }[]
    const jobId = listed[0]!.id
    const exported = await tunedeck(['--url', remote.url, 'export', jobId, '--json'])
    expect(exported.code, exported.out.slice(-2000)).toBe(0)
    const zipOnRemote = (JSON.parse(exported.out.slice(exported.out.indexOf('{'))) as { path: string }).path
    // As the page of serve A does when it drives B: a ticket asked with B's token from A's origin, then the plain link.
    const origin = `http://127.0.0.2:${remote.port}`
    const pageOrigin = 'http://127.0.0.1:1'
    const token = new URL(remote.url).hash.slice('#token='.length)
    const ticket = await fetch(`${origin}/download/ticket?path=${encodeURIComponent(zipOnRemote)}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, Origin: pageOrigin },
    })
    expect(ticket.status).toBe(200)
    expect(ticket.headers.get('access-control-allow-origin')).toBe(pageOrigin)
    const { url } = (await ticket.json()) as { url: string }
    const download = await fetch(`${origin}${url}`)
    expect(download.status).toBe(200)
    const local = join(workDir, 'downloaded', 'adapter.zip')
    mkdirSync(join(workDir, 'downloaded'))
    writeFileSync(local, Buffer.from(await download.arrayBuffer()))
    const names = (await zipEntries(local)).map((entry) => entry.name)
    expect(names).toContain('adapter/adapter_config.json')
    expect(names.filter((name) => name.endsWith('.safetensors'))).toEqual(['adapter/adapter_model.safetensors'])
    const unpacked = join(workDir, 'downloaded', 'adapter')
    mkdirSync(unpacked)
    await extractZip(local, unpacked)
    const config = JSON.parse(readFileSync(join(unpacked, 'adapter', 'adapter_config.json'), 'utf8')) as { peft_type?: string }
    expect(config.peft_type).toBe('LORA')
    // safetensors: an 8-byte little-endian header length, then the JSON header naming the LoRA tensors.
    const weights = readFileSync(join(unpacked, 'adapter', 'adapter_model.safetensors'))
    const header = JSON.parse(weights.subarray(8, 8 + Number(weights.readBigUInt64LE(0))).toString('utf8')) as Record<string, unknown>
    expect(Object.keys(header).some((name) => name.includes('lora_A'))).toBe(true)
  }, 300_000)

  it('packs a bundle as a zip, and imports a run from an uploaded zip, naming what is wrong with one that is not', async () => {
    const token = new URL(remote.url).hash.slice('#token='.length)
    const client = await CliClient.connectUrl(remote.url, undefined)
    let jobId: string
    try {
      jobId = (await client.request('jobs.list', {}))[0]!.id
      const out = join(workDir, 'bundles', 'first')
      const written = await client.request('jobs.bundle', { jobId, out, zip: true })
      expect(written).toEqual({ path: out, zip: `${out}.zip` })
      const names = (await zipEntries(written.zip!)).map((entry) => entry.name)
      for (const file of ['bundle.json', 'job/config.json', 'torchrun.sh', 'slurm.sbatch', 'skypilot.yaml'])
        expect(names).toContain(`first/${file}`)
      expect(existsSync(`${out}.zip.partial`)).toBe(false)
    } finally {
      client.close()
    }
    const upload = (name: string, body: Buffer) =>
      fetch(`http://127.0.0.2:${remote.port}/upload/run?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        body,
        headers: { Authorization: `Bearer ${token}`, Origin: 'http://127.0.0.1:1' },
      })
    const neverRan = await upload('first.zip', readFileSync(join(workDir, 'bundles', 'first.zip')))
    expect(((await neverRan.json()) as { error: { message: string } }).error.message).toMatch(/^first\.zip holds no events\.jsonl/)
    const notZip = await upload('run.txt', Buffer.from('hello'))
    expect(notZip.status).toBe(400)
    expect(((await notZip.json()) as { error: { message: string } }).error.message).toContain('run.txt is not a zip')
    const damaged = await upload('run.zip', Buffer.from('PK\u0003\u0004 not really'))
    expect(((await damaged.json()) as { error: { message: string } }).error.message).toMatch(/^run\.zip is not a readable zip/)
    // The job folder the run wrote, zipped with its folder at the top, comes back as a completed job.
    const runZip = join(workDir, 'cluster-run.zip')
    await zipFolder(join(workDir, 'remote-data', 'jobs', jobId), runZip)
    const imported = await upload('cluster-run.zip', readFileSync(runZip))
    const answer = (await imported.json()) as { ok: boolean; output: { id: string; name: string; status: string; step: number } }
    expect(answer.ok).toBe(true)
    expect(answer.output).toMatchObject({ name: 'Imported from cluster-run', status: 'completed', step: 12 })
    expect(readdirSync(join(workDir, 'remote-data', 'uploads'))).toEqual([])
  }, 120_000)

  it('answers on another address, with its Host header, when it listens on all of them', async () => {
    const address = '127.0.0.2'
    const token = new URL(remote.url).hash.slice('#token='.length)
    const listed = await tunedeck(['--url', `http://${address}:${remote.port}/`, '--token', token, 'jobs', '--json'])
    expect(listed.code).toBe(0)
    expect(Array.isArray(JSON.parse(listed.out))).toBe(true)
  })

  it('keeps bundles and imported runs inside the folders serve allows', async () => {
    for (const argv of [
      ['import-run', '/etc'],
      ['bundle', 'some-job', '--out', '/etc/tunedeck-bundle'],
    ]) {
      const refused = await tunedeck(['--url', remote.url, ...argv]).catch((error: Error) => ({ code: -1, out: error.message }))
      expect(refused.out).toMatch(/\/etc/)
      expect(refused.out).toMatch(/no (file|folder) Tunedeck may (read|write)/)
    }
  })

  it('says what is wrong with an address without a token, or with a wrong one', async () => {
    const bare = `http://127.0.0.1:${remote.port}/`
    await expect(CliClient.connectUrl(bare, undefined)).rejects.toThrow(/no token; use the address serve printed/)
    await expect(CliClient.connectUrl(bare, 'x'.repeat(40))).rejects.toThrow(ConnectionError)
    await expect(CliClient.connectUrl(bare, 'x'.repeat(40))).rejects.toThrow(/refused the connection \(HTTP 401\): check the token/)
    await expect(CliClient.connectUrl('ftp://example', undefined)).rejects.toThrow(/use an http:\/\/ or https:\/\/ address/)
  })
})
