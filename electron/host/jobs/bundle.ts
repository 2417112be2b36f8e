/**
 * Job bundles: one job as a folder a cluster or a cloud can train (`tunedeck bundle JOB`), and
 * what it wrote brought back as an ordinary job (`tunedeck import-run DIR`).
 *
 *   BUNDLE/job/config.json       the job's config; the dataset at ../data/, the self-test model built there
 *   BUNDLE/data/<file>           the dataset (its SHA-256 in bundle.json); mix-N-<file> each mixed one
 *   BUNDLE/trainer/              the trainer (tunedeck_trainer) and its pinned requirements.txt
 *   BUNDLE/torchrun.sh           torchrun with a c10d rendezvous (NNODES, NPROC_PER_NODE, RDZV_ENDPOINT)
 *   BUNDLE/slurm.sbatch          sbatch: srun starts torchrun.sh once per node, the first node hosts the rendezvous
 *   BUNDLE/skypilot.yaml         a SkyPilot task running torchrun.sh on every node
 *
 * The trainer decides nothing from the launcher: every rank reads job/config.json, rank 0 writes
 * job/events.jsonl, the checkpoints and the adapter (python-runtime/tunedeck_trainer/launch.py).
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { appError } from '@shared/errors'
import type { JobConfig } from '@shared/config'
import { jobConfigSchema } from '@shared/config'

/** The folder names inside a bundle. */
export const bundleJobFolder = 'job'

/** What `bundle` needs of the job and the app. */
export interface BundleSource {
  jobId: string
  name: string
  config: JobConfig
  pythonRuntimeDir: string
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

/** Writes the bundle of one job into `out` (created; it must not exist or be empty). Returns `out`. */
export function writeBundle(source: BundleSource, out: string): string {
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) {
    throw appError('invalid_input', `${out} is not empty; name a new folder for the bundle`, {
      fields: { out: 'choose an empty or new folder' },
    })
  }
  const { config } = source
  const dataset = config.dataset.path
  if (!fs.existsSync(dataset) || fs.statSync(dataset).isDirectory()) {
    throw appError('invalid_input', `the job's dataset ${dataset} is not a file here, so it cannot go into the bundle`)
  }
  for (const entry of config.dataset.mix) {
    if (!fs.existsSync(entry.path) || fs.statSync(entry.path).isDirectory()) {
      throw appError('invalid_input', `the job's mixed dataset ${entry.path} is not a file here, so it cannot go into the bundle`)
    }
  }
  const jobDir = path.join(out, bundleJobFolder)
  fs.mkdirSync(path.join(out, 'data'), { recursive: true })
  fs.mkdirSync(jobDir, { recursive: true })
  const dataName = path.basename(dataset)
  fs.copyFileSync(dataset, path.join(out, 'data', dataName))
  const digest = sha256(dataset)
  // Each mixed dataset beside the first, numbered so that two files of one name stay apart.
  const mixed = config.dataset.mix.map((entry, index) => {
    const name = `mix-${index + 1}-${path.basename(entry.path)}`
    fs.copyFileSync(entry.path, path.join(out, 'data', name))
    return { entry: { ...entry, path: `../data/${name}`, sha256: sha256(entry.path) }, file: `data/${name}`, from: entry.path }
  })
  const bundled: JobConfig = {
    ...config,
    resumeFrom: null,
    initFrom: null,
    initOptimizer: false,
    dataset: { ...config.dataset, path: `../data/${dataName}`, sha256: digest, mix: mixed.map((part) => part.entry) },
    // The self-test model is built where the job runs; any other model must be on the nodes.
    model: config.model.selftest ? { ...config.model, path: 'model' } : config.model,
  }
  fs.writeFileSync(path.join(jobDir, 'config.json'), JSON.stringify(bundled, null, 2) + '\n')
  fs.cpSync(path.join(source.pythonRuntimeDir, 'tunedeck_trainer'), path.join(out, 'trainer', 'tunedeck_trainer'), {
    recursive: true,
    filter: (file) => !file.includes('__pycache__'),
  })
  fs.copyFileSync(path.join(source.pythonRuntimeDir, 'requirements.txt'), path.join(out, 'trainer', 'requirements.txt'))
  const manifest = {
    version: 1,
    jobId: source.jobId,
    name: source.name,
    dataset: { file: `data/${dataName}`, sha256: digest, from: dataset },
    ...(mixed.length > 0 ? { mix: mixed.map((part) => ({ file: part.file, sha256: part.entry.sha256, from: part.from })) } : {}),
    model: config.model.selftest
      ? { selftest: true }
      : { path: config.model.path, note: 'must exist on every node (a folder, or a hub id in the Hugging Face cache)' },
  }
  fs.writeFileSync(path.join(out, 'bundle.json'), JSON.stringify(manifest, null, 2) + '\n')
  fs.writeFileSync(path.join(out, 'torchrun.sh'), torchrunScript(source.jobId), { mode: 0o755 })
  fs.writeFileSync(path.join(out, 'slurm.sbatch'), slurmScript(source.name), { mode: 0o755 })
  fs.writeFileSync(path.join(out, 'skypilot.yaml'), skypilotTask(source.name))
  return out
}

function torchrunScript(jobId: string): string {
  return `#!/usr/bin/env bash
# Trains this bundle's job with torchrun on one node of NNODES; run it once on every node.
#   NNODES=2 NPROC_PER_NODE=4 RDZV_ENDPOINT=head-node:29500 bash torchrun.sh
# PYTHON: an interpreter with trainer/requirements.txt installed (default: python3).
# The job's events, checkpoints and adapter are written to job/ by rank 0 (a shared folder on a cluster);
# bring them back with \`tunedeck import-run <this folder>\`.
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONPATH="$PWD/trainer\${PYTHONPATH:+:$PYTHONPATH}"
exec "\${PYTHON:-python3}" -m torch.distributed.run \\
  --nnodes "\${NNODES:-1}" --nproc-per-node "\${NPROC_PER_NODE:-gpu}" \\
  --rdzv-backend c10d --rdzv-endpoint "\${RDZV_ENDPOINT:-127.0.0.1:29500}" --rdzv-id "\${RDZV_ID:-tunedeck-${jobId}}" \\
  -m tunedeck_trainer train --job-dir "$PWD/job"
`
}

function slurmScript(name: string): string {
  const jobName = name.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 60) || 'tunedeck'
  return `#!/usr/bin/env bash
#SBATCH --job-name=${jobName}
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=1
#SBATCH --output=slurm-%j.out
# Submit from this folder on a shared file system: sbatch slurm.sbatch (change --nodes and --gpus-per-node).
set -euo pipefail
head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
export NNODES="$SLURM_NNODES"
export NPROC_PER_NODE="\${SLURM_GPUS_PER_NODE:-1}"
export RDZV_ENDPOINT="$head_node:29500"
export RDZV_ID="$SLURM_JOB_ID"
srun bash "$SLURM_SUBMIT_DIR/torchrun.sh"
`
}

function skypilotTask(name: string): string {
  const taskName =
    name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'tunedeck'
  return `# SkyPilot task: sky launch -c ${taskName} skypilot.yaml (from this folder). Change num_nodes and accelerators.
name: ${taskName}
num_nodes: 2
resources:
  accelerators: L4:1
workdir: .
setup: |
  pip install -r trainer/requirements.txt
run: |
  export NNODES="$SKYPILOT_NUM_NODES"
  export NPROC_PER_NODE="$SKYPILOT_NUM_GPUS_PER_NODE"
  export RDZV_ENDPOINT="$(echo "$SKYPILOT_NODE_IPS" | head -n 1):29500"
  export RDZV_ID="$SKYPILOT_TASK_ID"
  bash torchrun.sh
`
}

/** What import-run copies from a run's job folder. */
const runEntries = ['config.json', 'events.jsonl', 'terminal.log', 'checkpoints', 'adapter'] as const

/**
 * Copies what a run wrote (a bundle folder, or its job/ folder) into `jobDir` and returns the job's
 * config with paths that work here. Paths inside events (adapter, checkpoints) name the other
 * machine's folders; they are rewritten to the same folders inside this job.
 */
export function copyRun(from: string, jobDir: string, jobId: string): JobConfig {
  const source = fs.existsSync(path.join(from, bundleJobFolder, 'config.json')) ? path.join(from, bundleJobFolder) : from
  for (const needed of ['config.json', 'events.jsonl']) {
    if (!fs.existsSync(path.join(source, needed))) {
      throw appError('invalid_input', `${from} holds no ${needed}: name a bundle folder or the job folder a run wrote`, {
        fields: { path: `no ${needed} there` },
      })
    }
  }
  const parsed = jobConfigSchema.safeParse(JSON.parse(fs.readFileSync(path.join(source, 'config.json'), 'utf8')))
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw appError('invalid_input', `${path.join(source, 'config.json')}: ${issue?.path.join('.')}: ${issue?.message}`)
  }
  fs.mkdirSync(jobDir, { recursive: true })
  for (const entry of runEntries) {
    const file = path.join(source, entry)
    if (entry !== 'events.jsonl' && entry !== 'config.json' && fs.existsSync(file))
      fs.cpSync(file, path.join(jobDir, entry), { recursive: true })
  }
  const lines = fs
    .readFileSync(path.join(source, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
  const local = lines.map((line) => {
    const event = JSON.parse(line) as Record<string, unknown>
    if (event.type === 'completed') event.adapterPath = path.join(jobDir, 'adapter')
    if (event.type === 'checkpoint' && typeof event.name === 'string') event.path = path.join(jobDir, 'checkpoints', event.name)
    return JSON.stringify(event)
  })
  fs.writeFileSync(path.join(jobDir, 'events.jsonl'), local.join('\n') + '\n')
  const config = parsed.data
  const resolve = (value: string): string => (path.isAbsolute(value) ? value : path.resolve(source, value))
  // A folder beside the run (the self-test model it built) or here; a hub id stays as it is.
  const model = fs.existsSync(resolve(config.model.path)) ? resolve(config.model.path) : config.model.path
  return {
    ...config,
    jobId,
    resumeFrom: null,
    model: { ...config.model, path: model },
    dataset: {
      ...config.dataset,
      path: resolve(config.dataset.path),
      mix: config.dataset.mix.map((entry) => ({ ...entry, path: resolve(entry.path) })),
    },
  }
}
