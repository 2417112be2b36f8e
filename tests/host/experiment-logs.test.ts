/**
 * MLflow through the host: with MLFLOW_TRACKING_URI (a local file store) in the host's environment,
 * a self-test job's trainer gets it (childEnv's experimentLogs) and its step losses land in an MLflow
 * run, read back with MLflow's own client in the trainer's Python. Needs TUNEDECK_PYTHON.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createHost, type Host } from '../../electron/host/host'
import { pythonRuntimeDir, resourcesDir, temporaryDir } from './jobs.harness'
import { request, waitFinished } from './routes'
import { trainerPython } from './trainerPython'

const workDir = temporaryDir('tunedeck-experiment-logs-')
const store = pathToFileURL(path.join(workDir, 'mlruns')).href
const savedEnv = { ...process.env }
let host: Host

beforeAll(async () => {
  Object.assign(process.env, { MLFLOW_TRACKING_URI: store, MLFLOW_ALLOW_FILE_STORE: 'true', MLFLOW_EXPERIMENT_NAME: 'host-test' })
  host = createHost({ dataDir: path.join(workDir, 'data'), resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  await host.start()
}, 60_000)

afterAll(async () => {
  await host?.shutdown()
  process.env = savedEnv
  fs.rmSync(workDir, { recursive: true, force: true })
})

it("sends a job's step losses to the MLflow tracking URI of the host's environment", async () => {
  const created = await request(host, 'jobs.create', { model: { selftest: true }, training: { epochs: 1, maxSteps: 3 } })
  const job = await waitFinished(host, created.id, 240_000)
  expect(job.status).toBe('completed')
  const losses = (await request(host, 'jobs.metrics', { jobId: job.id })).map((point) => [point.step, point.loss])
  const read = [
    'import json, sys',
    'from mlflow import MlflowClient',
    'client = MlflowClient(tracking_uri=sys.argv[1])',
    'run, = client.search_runs([client.get_experiment_by_name("host-test").experiment_id])',
    'print(json.dumps({"status": run.info.status, "loss": [[m.step, m.value] for m in client.get_metric_history(run.info.run_id, "train/loss")]}))',
  ].join('\n')
  const logged = JSON.parse(
    execFileSync(trainerPython(), ['-c', read, store], { env: { ...process.env }, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop() ?? '{}',
  ) as { status: string; loss: number[][] }
  expect(logged.status).toBe('FINISHED')
  expect(losses.length).toBe(3)
  expect(logged.loss.sort((a, b) => a[0]! - b[0]!)).toEqual(losses)
}, 300_000)
