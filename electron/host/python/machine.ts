/**
 * Gathers the facts the environment doctor judges: the doctor probe run in the trainer's
 * Python, the NVIDIA driver and GPUs from nvidia-smi, and free disk space where models and
 * checkpoints go. Each source that fails is reported as missing, never thrown.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { stat, statfs } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { DiskFacts, MachineFacts, ProbeFacts, SmiFacts } from './diagnosis'
import type { PythonLocation } from './interpreter'
import { hubCacheDir } from '../models/cache'
import { childEnvironment } from '../childEnv'

const probeTimeoutMs = 120_000
const smiTimeoutMs = 10_000

function run(
  command: string,
  args: string[],
  timeoutMs: number,
  env: Record<string, string> = childEnvironment(),
): Promise<{ ok: true; stdout: string } | { ok: false; message: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, windowsHide: true, maxBuffer: 4 * 1024 * 1024, env }, (error, stdout, stderr) => {
      if (!error) return resolve({ ok: true, stdout })
      const code = (error as NodeJS.ErrnoException).code
      const message =
        code === 'ENOENT'
          ? `${command} was not found`
          : error.killed
            ? `${command} did not answer within ${timeoutMs / 1000} s`
            : stderr.trim().split('\n').slice(-3).join(' ') || error.message
      resolve({ ok: false, message })
    })
  })
}

/**
 * Parses `nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader`.
 * A GPU name may hold commas, so the last two cells are taken from the end.
 */
export function parseSmiIdentity(stdout: string): { gpus: { name: string; capability: string }[]; driverVersion: string | null } {
  const gpus: { name: string; capability: string }[] = []
  let driverVersion: string | null = null
  for (const line of stdout.split(/\r?\n/)) {
    const cells = line.split(',').map((cell) => cell.trim())
    if (cells.length < 3 || !/^\d+\.\d+$/.test(cells[cells.length - 2] ?? '')) continue
    gpus.push({ name: cells.slice(0, -2).join(', '), capability: cells[cells.length - 2]! })
    driverVersion = cells[cells.length - 1] ?? null
  }
  return { gpus, driverVersion }
}

/** The "CUDA Version: 12.8" of nvidia-smi's banner: the newest CUDA the driver supports. */
export function parseSmiCudaVersion(banner: string): string | null {
  return /CUDA Version:\s*([\d.]+)/.exec(banner)?.[1] ?? null
}

/** nvidia-smi's path: on PATH, or in System32 where the Windows driver puts it. */
function nvidiaSmi(): string {
  const system32 = join(process.env.WINDIR ?? 'C:\\Windows', 'System32', 'nvidia-smi.exe')
  return process.platform === 'win32' && existsSync(system32) ? system32 : 'nvidia-smi'
}

/** The driver and GPUs, or null where nvidia-smi is missing or lists none. */
export async function readSmi(): Promise<SmiFacts | null> {
  const identity = await run(nvidiaSmi(), ['--query-gpu=name,compute_cap,driver_version', '--format=csv,noheader'], smiTimeoutMs)
  if (!identity.ok) return null
  const { gpus, driverVersion } = parseSmiIdentity(identity.stdout)
  if (gpus.length === 0) return null
  const banner = await run(nvidiaSmi(), [], smiTimeoutMs)
  return {
    gpus,
    driverVersion,
    cudaVersion: banner.ok ? parseSmiCudaVersion(banner.stdout) : null,
    capabilities: gpus.map((gpu) => gpu.capability),
  }
}

/** Free bytes on the disk holding `path` (or its nearest existing parent), and that disk's device id. */
async function freeSpace(path: string): Promise<{ free: number | null; device: number | null }> {
  let folder = path
  while (!existsSync(folder) && dirname(folder) !== folder) folder = dirname(folder)
  try {
    const [space, info] = await Promise.all([statfs(folder), stat(folder)])
    return { free: space.bavail * space.bsize, device: info.dev }
  } catch {
    return { free: null, device: null }
  }
}

/** Runs the doctor probe in the trainer's Python; the parsed facts or why there are none. */
async function probe(
  python: string,
  pythonRuntimeDir: string,
  requirementsFile: string,
): Promise<{ facts: ProbeFacts | null; error: string | null }> {
  const env = childEnvironment({ PYTHONPATH: pythonRuntimeDir, PYTHONIOENCODING: 'utf-8' })
  const result = await run(python, ['-m', 'tunedeck_trainer.doctor', '--requirements', requirementsFile, '--smoke'], probeTimeoutMs, env)
  if (!result.ok) return { facts: null, error: result.message }
  const line = result.stdout.split('\n').find((text) => text.startsWith('TUNEDECK_DOCTOR '))
  if (!line) return { facts: null, error: `it printed no answer: ${result.stdout.trim().slice(-200)}` }
  return { facts: JSON.parse(line.slice('TUNEDECK_DOCTOR '.length)) as ProbeFacts, error: null }
}

/** Where to look, and the interpreter to ask. */
export interface MachineOptions {
  location: PythonLocation
  pythonRuntimeDir: string
  requirementsFile: string
  dataDir: string
  env?: NodeJS.ProcessEnv
}

/** Every fact the doctor needs from this machine, gathered in parallel. */
export async function gatherFacts(options: MachineOptions): Promise<MachineFacts> {
  const { location } = options
  const exists = location.path !== null && existsSync(location.path)
  const cache = hubCacheDir(options.env)
  const [probed, smi, dataDisk, cacheDisk] = await Promise.all([
    exists ? probe(location.path!, options.pythonRuntimeDir, options.requirementsFile) : Promise.resolve({ facts: null, error: null }),
    readSmi(),
    freeSpace(options.dataDir),
    freeSpace(cache),
  ])
  const disks: DiskFacts[] = [{ label: 'the data folder', path: options.dataDir, freeBytes: dataDisk.free }]
  // One disk is one line: the cache usually shares the data folder's.
  if (cacheDisk.device === null || cacheDisk.device !== dataDisk.device)
    disks.push({ label: 'the Hugging Face cache', path: cache, freeBytes: cacheDisk.free })
  return {
    platform: process.platform,
    interpreter: { source: location.source, path: location.path, exists },
    probe: probed.facts,
    probeError: probed.error,
    smi,
    disks,
  }
}
