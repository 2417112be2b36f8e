/** What the host knows about the machine: Python, torch, CUDA and GPUs. */
import { z } from 'zod'

export const gpuReadingSchema = z.object({
  index: z.int(),
  name: z.string(),
  /** Percent, or null where the driver does not report it. */
  utilization: z.number().nullable(),
  memoryUsedMb: z.number().nullable(),
  memoryTotalMb: z.number().nullable(),
  temperatureC: z.number().nullable(),
  powerW: z.number().nullable(),
  /** Graphics (SM) and memory clocks in MHz; absent where the query did not ask for them. */
  clockSmMhz: z.number().nullable().optional(),
  clockMemoryMhz: z.number().nullable().optional(),
})

export type GpuReading = z.infer<typeof gpuReadingSchema>

export const gpuSampleSchema = z.object({
  time: z.number(),
  /** False on a machine without an NVIDIA GPU; `reason` says why in words. */
  available: z.boolean(),
  reason: z.string().nullable(),
  gpus: z.array(gpuReadingSchema),
})

export type GpuSample = z.infer<typeof gpuSampleSchema>

export const pythonEnvStates = ['missing', 'installing', 'ready', 'failed'] as const

export const pythonInfoSchema = z.object({
  found: z.boolean(),
  path: z.string().nullable(),
  /** Where the interpreter came from: TUNEDECK_PYTHON, or the venv in the data directory. */
  source: z.enum(['env', 'venv', 'none']),
  version: z.string().nullable(),
  torch: z.string().nullable(),
  cudaAvailable: z.boolean(),
  cudaVersion: z.string().nullable(),
  error: z.string().nullable(),
})

export const systemInfoSchema = z.object({
  appVersion: z.string(),
  platform: z.string(),
  dataDir: z.string(),
  python: pythonInfoSchema,
  envState: z.enum(pythonEnvStates),
  gpu: gpuSampleSchema,
})

export type SystemInfo = z.infer<typeof systemInfoSchema>

export const setupProgressSchema = z.object({
  state: z.enum(pythonEnvStates),
  /** 0..1, an estimate from pip's own steps. */
  progress: z.number().min(0).max(1),
  /** The newest line of pip output; the whole log streams as `text`. */
  text: z.string(),
  error: z.string().nullable(),
})

export type SetupProgress = z.infer<typeof setupProgressSchema>
