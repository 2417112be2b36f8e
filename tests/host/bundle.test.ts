/**
 * Job bundles end to end: the host writes a job's bundle, two torchrun launchers on this machine
 * play two nodes (--nnodes 2, a c10d rendezvous on 127.0.0.1, one gloo rank each) and train it
 * with the REAL trainer, and import-run brings what they wrote back as an ordinary job with the
 * same curve. The Slurm script passes `bash -n`; the SkyPilot task loads with PyYAML and passes
 * SkyPilot's task schema (tests/fixtures/skypilot; SkyPilot itself is not installed). Needs TUNEDECK_PYTHON.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Harness, python, repoRoot, temporaryDir } from './jobs.harness'

const dataDir = temporaryDir('tunedeck-bundle-')
let h: Harness

beforeAll(async () => {
  h = new Harness(dataDir)
  await h.service.start()
  await h.request('queue.set', { running: false }) // the job trains on the "cluster", not here
})

afterAll(async () => {
  await h.service.shutdown()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Runs torchrun.sh as one node of two (a gloo rank on CPU, on any machine); resolves with its exit code and output. */
function node(bundle: string, port: number): Promise<{ code: number | null; output: string }> {
  const env = {
    ...process.env,
    PYTHON: python,
    NNODES: '2',
    NPROC_PER_NODE: '1',
    RDZV_ENDPOINT: `127.0.0.1:${port}`,
    RDZV_ID: 'bundle-test',
    OMP_NUM_THREADS: '1',
    CUDA_VISIBLE_DEVICES: '',
  }
  for (const key of Object.keys(env)) if (key.startsWith('TUNEDECK_')) delete env[key as keyof typeof env]
  const child = spawn('bash', [path.join(bundle, 'torchrun.sh')], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })))
}

describe('job bundles', () => {
  it('writes a bundle that two nodes train, and import-run brings the run back with its curve', async () => {
    const created = await h.request('jobs.create', { model: { selftest: true }, training: { epochs: 1, batchSize: 2 } })
    const out = path.join(dataDir, 'bundle')
    expect((await h.request('jobs.bundle', { jobId: created.id, out })).path).toBe(out)
    for (const file of [
      'job/config.json',
      'bundle.json',
      'trainer/requirements.txt',
      'trainer/tunedeck_trainer/loop.py',
      'torchrun.sh',
      'slurm.sbatch',
      'skypilot.yaml',
    ]) {
      expect(fs.existsSync(path.join(out, file)), file).toBe(true)
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'bundle.json'), 'utf8')) as { dataset: { file: string; sha256: string } }
    expect(manifest.dataset.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(fs.readFileSync(path.join(out, 'trainer', 'requirements.txt'), 'utf8')).toContain('torch==')
    for (const script of ['slurm.sbatch', 'torchrun.sh']) {
      const checked = spawnSync('bash', ['-n', path.join(out, script)], { encoding: 'utf8' })
      expect(checked.status, `${script}: ${checked.stderr}`).toBe(0)
    }
    expect(fs.readFileSync(path.join(out, 'slurm.sbatch'), 'utf8')).toMatch(/^srun bash .*torchrun\.sh/m)
    const schema = path.join(repoRoot, 'tests', 'fixtures', 'skypilot', 'task.schema.json')
    const validate =
      'import json, sys, yaml, jsonschema; task = yaml.safe_load(open(sys.argv[1])); jsonschema.validate(task, json.load(open(sys.argv[2]))); print(task["num_nodes"])'
    const sky = spawnSync(python, ['-c', validate, path.join(out, 'skypilot.yaml'), schema], { encoding: 'utf8' })
    expect(sky.stderr).toBe('')
    expect(sky.stdout.trim()).toBe('2')

    const port = await freePort()
    const nodes = await Promise.all([node(out, port), node(out, port)])
    for (const { code, output } of nodes) expect(code, output.slice(-3000)).toBe(0)
    const lines = fs
      .readFileSync(path.join(out, 'job', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
    const events = lines.map((line) => JSON.parse(line) as { type: string; step?: number; loss?: number; ranks?: number })
    expect(events.find((event) => event.type === 'started')?.ranks).toBe(2)
    expect(events[events.length - 1]?.type).toBe('completed')
    const curve = events.filter((event) => event.type === 'step').map((event) => [event.step, event.loss])

    const imported = await h.request('jobs.import_run', { path: out })
    expect(imported.status).toBe('completed')
    expect(imported.step).toBe(curve.length)
    expect(fs.existsSync(path.join(imported.adapterPath as string, 'adapter_model.safetensors'))).toBe(true)
    expect(imported.adapterPath?.startsWith(h.jobDir(imported.id))).toBe(true)
    const metrics = await h.request('jobs.metrics', { jobId: imported.id })
    expect(metrics.map((point) => [point.step, point.loss])).toEqual(curve)
  }, 400_000)

  it('carries every dataset of a mix, which the bundled trainer reads from the bundle alone', async () => {
    const extra = path.join(dataDir, 'dataset.jsonl')
    fs.writeFileSync(
      extra,
      Array.from({ length: 6 }, (_, index) => JSON.stringify({ prompt: `p${index}`, completion: `c${index}` })).join('\n') + '\n',
    )
    const selftestRows = path.join(repoRoot, 'resources', 'selftest', 'dataset.jsonl')
    const created = await h.request('jobs.create', {
      model: { selftest: true },
      dataset: { path: selftestRows, format: 'alpaca', weight: 0.5, mix: [{ path: extra, weight: 2 }] },
    })
    const out = path.join(dataDir, 'mixed-bundle')
    await h.request('jobs.bundle', { jobId: created.id, out })
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'bundle.json'), 'utf8')) as {
      mix: { file: string; sha256: string; from: string }[]
    }
    expect(manifest.mix).toEqual([{ file: 'data/mix-1-dataset.jsonl', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), from: extra }])
    // Read where it lands, with the bundle's own trainer: 48 of the 96 self-test rows and each of the 6 twice.
    fs.rmSync(extra)
    const read =
      'import sys; from pathlib import Path; from tunedeck_trainer.config import load_config; from tunedeck_trainer.data.job_data import job_records; job = Path(sys.argv[1]); print([part["taken"] for part in job_records(load_config(job / "config.json"), job)[1].mix])'
    const env = { ...process.env, PYTHONPATH: path.join(out, 'trainer') }
    const result = spawnSync(python, ['-c', read, path.join(out, 'job')], { encoding: 'utf8', env, cwd: out })
    expect(
      result.stderr
        .split('\n')
        .filter((line) => !line.startsWith('[tunedeck]'))
        .join(''),
    ).toBe('')
    expect(result.stdout.trim().split('\n').pop()).toBe('[48, 12]')
  }, 120_000)

  it('refuses to import a folder that holds no run, naming what is missing', async () => {
    const empty = path.join(dataDir, 'empty')
    fs.mkdirSync(empty)
    await expect(h.request('jobs.import_run', { path: empty })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('holds no config.json'),
    })
  })
})
