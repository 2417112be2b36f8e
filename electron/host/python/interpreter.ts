/**
 * Finds the Python interpreter the trainer runs with and asks it what it has
 * (Python version, torch, CUDA). TUNEDECK_PYTHON wins over the app's venv so
 * that developers and CI can point at an environment they made themselves.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { z } from 'zod'
import type { pythonInfoSchema } from '@shared/system'
import { childEnvironment } from '../childEnv'

export type PythonInfo = z.infer<typeof pythonInfoSchema>

/** Where the interpreter came from, and its path (null when there is none). */
export interface PythonLocation {
  source: 'env' | 'venv' | 'none'
  path: string | null
}

/** The folder of the venv the app creates, inside the data directory. */
export function venvDir(dataDir: string): string {
  return join(dataDir, 'python-env')
}

/** The interpreter inside a venv folder (Scripts\python.exe on Windows). */
export function venvPython(dir: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? join(dir, 'Scripts', 'python.exe') : join(dir, 'bin', 'python')
}

/**
 * TUNEDECK_PYTHON if set (even when the file is missing, so the probe can say
 * so), else the app's venv when its interpreter exists, else none.
 */
export function locatePython(dataDir: string, env: NodeJS.ProcessEnv = process.env): PythonLocation {
  const fromEnv = env.TUNEDECK_PYTHON?.trim()
  if (fromEnv) return { source: 'env', path: fromEnv }
  const candidate = venvPython(venvDir(dataDir))
  if (existsSync(candidate)) return { source: 'venv', path: candidate }
  return { source: 'none', path: null }
}

// Prints one JSON line; torch may be missing or broken, which is reported, not raised.
const probeScript = `
import json, sys
out = {"version": sys.version.split()[0], "torch": None, "cudaAvailable": False, "cudaVersion": None, "error": None}
try:
    import torch
    out["torch"] = str(torch.__version__)
    out["cudaAvailable"] = bool(torch.cuda.is_available())
    out["cudaVersion"] = torch.version.cuda
except Exception as exc:
    out["error"] = "torch could not be imported: %s: %s" % (type(exc).__name__, exc)
print("TUNEDECK_PROBE " + json.dumps(out))
`

const probeTimeoutMs = 60_000

/** Runs `python -c script` and resolves with stdout, or rejects with a readable reason. */
function runPython(path: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      path,
      args,
      { timeout: timeoutMs, windowsHide: true, maxBuffer: 4 * 1024 * 1024, env: childEnvironment({ PYTHONIOENCODING: 'utf-8' }) },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout)
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'ENOENT') return reject(new Error(`${path} does not exist or is not executable`))
        if (error.killed) return reject(new Error(`${path} did not answer within ${Math.round(timeoutMs / 1000)} s`))
        const detail = stderr.trim().split('\n').slice(-3).join(' ') || error.message
        reject(new Error(`${path} failed: ${detail}`))
      },
    )
  })
}

/** Asks the interpreter for its Python, torch and CUDA versions. Never throws. */
export async function probePython(location: PythonLocation): Promise<PythonInfo> {
  const empty: PythonInfo = {
    found: false,
    path: location.path,
    source: location.source,
    version: null,
    torch: null,
    cudaAvailable: false,
    cudaVersion: null,
    error: null,
  }
  if (!location.path) {
    return { ...empty, error: 'No Python environment: open Set-up and install it, or set TUNEDECK_PYTHON.' }
  }
  if (!existsSync(location.path)) {
    const where = location.source === 'env' ? 'TUNEDECK_PYTHON points at' : 'The venv interpreter'
    return { ...empty, error: `${where} ${location.path}, which does not exist.` }
  }
  try {
    const stdout = await runPython(location.path, ['-c', probeScript], probeTimeoutMs)
    const line = stdout.split('\n').find((text) => text.startsWith('TUNEDECK_PROBE '))
    if (!line) return { ...empty, error: `${location.path} printed no probe result: ${stdout.trim().slice(-200)}` }
    const parsed = JSON.parse(line.slice('TUNEDECK_PROBE '.length)) as Record<string, unknown>
    return {
      ...empty,
      found: true,
      version: typeof parsed.version === 'string' ? parsed.version : null,
      torch: typeof parsed.torch === 'string' ? parsed.torch : null,
      cudaAvailable: parsed.cudaAvailable === true,
      cudaVersion: typeof parsed.cudaVersion === 'string' ? parsed.cudaVersion : null,
      error: typeof parsed.error === 'string' ? parsed.error : null,
    }
  } catch (error) {
    return { ...empty, error: (error as Error).message }
  }
}
