/**
 * Reads the NVIDIA GPUs' utilization, memory, temperature and power.
 *
 * The readings come from one `nvidia-smi --query-gpu` call, the same query
 * systeminformation makes, run directly because systeminformation.graphics()
 * drops readings that are zero (an idle GPU would show no utilization) and
 * runs lspci, clinfo and xrandr on every call, too slow for a sample a second.
 * systeminformation.graphics() is asked only when nvidia-smi is missing, to
 * tell "no NVIDIA GPU" apart from "an NVIDIA GPU without its driver".
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import si from 'systeminformation'
import type { GpuReading, GpuSample } from '@shared/system'
import { childEnvironment } from '../childEnv'

/** The readings of the live panel, as nvidia-smi names them, after index and name. */
export const panelFields = ['utilization.gpu', 'memory.used', 'memory.total', 'temperature.gpu', 'power.draw'] as const
/** What each sample asks for: the panel's readings and the clocks stored with the job. */
export const sampledFields = [...panelFields, 'clocks.sm', 'clocks.mem'] as const
const query = ['index', 'name', ...sampledFields].join(',')
const smiTimeoutMs = 5_000

/** A number from one nvidia-smi CSV cell, or null for [N/A], [Not Supported] and the like. */
function reading(cell: string | undefined): number | null {
  if (cell === undefined) return null
  const value = Number.parseFloat(cell.trim())
  return /^\s*-?[\d.]+\s*$/.test(cell) && Number.isFinite(value) ? value : null
}

/**
 * Parses `nvidia-smi --query-gpu=index,name,<fields> --format=csv,noheader,nounits`,
 * `fields` being panelFields or sampledFields. A GPU name may hold commas, so
 * the fields are taken from both ends.
 */
export function parseNvidiaSmi(stdout: string, fields: readonly string[] = panelFields): GpuReading[] {
  const gpus: GpuReading[] = []
  const count = fields.length
  for (const line of stdout.split(/\r?\n/)) {
    const cells = line.split(',').map((cell) => cell.trim())
    if (cells.length < count + 2) continue
    const index = Number.parseInt(cells[0] ?? '', 10)
    if (!Number.isInteger(index)) continue
    const numbers = cells.slice(-count)
    const value = (field: string) => (fields.includes(field) ? reading(numbers[fields.indexOf(field)]) : undefined)
    const gpu: GpuReading = {
      index,
      name: cells.slice(1, -count).join(', '),
      utilization: value('utilization.gpu') ?? null,
      memoryUsedMb: value('memory.used') ?? null,
      memoryTotalMb: value('memory.total') ?? null,
      temperatureC: value('temperature.gpu') ?? null,
      powerW: value('power.draw') ?? null,
    }
    if (fields.includes('clocks.sm')) gpu.clockSmMhz = value('clocks.sm') ?? null
    if (fields.includes('clocks.mem')) gpu.clockMemoryMhz = value('clocks.mem') ?? null
    gpus.push(gpu)
  }
  return gpus
}

/** nvidia-smi's path: on PATH, or in System32 where the Windows driver puts it. */
function nvidiaSmiCommand(): string {
  if (process.platform === 'win32') {
    const system32 = join(process.env.WINDIR ?? 'C:\\Windows', 'System32', 'nvidia-smi.exe')
    if (existsSync(system32)) return system32
  }
  return 'nvidia-smi'
}

/** One run of nvidia-smi: its output, or why it gave none (missing: not installed). */
export type SmiResult = { ok: true; stdout: string } | { ok: false; missing: boolean; message: string }

export function runNvidiaSmi(): Promise<SmiResult> {
  return new Promise((resolve) => {
    execFile(
      nvidiaSmiCommand(),
      [`--query-gpu=${query}`, '--format=csv,noheader,nounits'],
      { timeout: smiTimeoutMs, windowsHide: true, env: childEnvironment() },
      (error, stdout, stderr) => {
        if (!error) return resolve({ ok: true, stdout })
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT'
        const detail = (stdout.trim() || stderr.trim() || error.message).split('\n')[0] ?? ''
        resolve({ ok: false, missing, message: detail })
      },
    )
  })
}

/** Names of NVIDIA display controllers the OS lists, even without a driver. */
async function nvidiaControllers(): Promise<string[]> {
  try {
    const { controllers } = await si.graphics()
    return controllers
      .filter((controller) => /nvidia/i.test(`${controller.vendor} ${controller.model}`))
      .map((controller) => controller.model || 'NVIDIA GPU')
  } catch {
    return []
  }
}

/** Reads the GPUs once; a machine without nvidia-smi gets the same answer forever. */
export class GpuTelemetry {
  private unavailable: GpuSample | null = null

  /** `runSmi` runs nvidia-smi with the sampled query; tests pass recorded outputs of it. */
  constructor(private readonly runSmi: () => Promise<SmiResult> = runNvidiaSmi) {}

  /** One sample: readings of every NVIDIA GPU, or available false with the reason in words. */
  async sample(): Promise<GpuSample> {
    if (this.unavailable) return { ...this.unavailable, time: Date.now() }
    const result = await this.runSmi()
    if (result.ok) {
      const gpus = parseNvidiaSmi(result.stdout, sampledFields)
      if (gpus.length > 0) return { time: Date.now(), available: true, reason: null, gpus }
      return { time: Date.now(), available: false, reason: 'No NVIDIA GPU found: nvidia-smi lists none.', gpus: [] }
    }
    if (!result.missing) {
      return {
        time: Date.now(),
        available: false,
        reason: `The NVIDIA GPU could not be read: nvidia-smi says "${result.message}".`,
        gpus: [],
      }
    }
    const listed = await nvidiaControllers()
    const reason =
      listed.length > 0
        ? `${listed.join(', ')} found, but nvidia-smi is not available: install the NVIDIA driver.`
        : 'No NVIDIA GPU found: nvidia-smi is not available on this machine.'
    this.unavailable = { time: Date.now(), available: false, reason, gpus: [] }
    return this.unavailable
  }
}
