/**
 * What the environment doctor's verdicts (diagnosis.ts) are drawn from: the doctor probe's JSON,
 * nvidia-smi's answers and the free disk space, as machine.ts gathers them.
 */
import type { DriverFacts } from './torchBuild'

/** What `python -m tunedeck_trainer.doctor` prints after TUNEDECK_DOCTOR. */
export interface ProbeFacts {
  python: { version: string; executable: string; inVenv: boolean }
  packages: { name: string; wanted: string; installed: string | null }[]
  torch: {
    version: string | null
    cudaBuild: string | null
    cudaAvailable: boolean
    devices: { name: string; capability: string }[]
    archList: string[]
    error: string | null
  }
  bitsandbytes: { version: string | null; works: boolean | null; error: string | null }
  smoke: { ran: boolean; finite: boolean; milliseconds: number | null; tflops: number | null; error: string | null } | null
}

/** nvidia-smi's view: the driver and each GPU. Null facts mean no NVIDIA GPU or no driver. */
export interface SmiFacts extends DriverFacts {
  driverVersion: string | null
  gpus: { name: string; capability: string }[]
}

export interface DiskFacts {
  /** "the data folder", "the Hugging Face cache". */
  label: string
  path: string
  /** null where the folder's disk could not be read. */
  freeBytes: number | null
}

/** Everything the verdicts are drawn from. */
export interface MachineFacts {
  platform: NodeJS.Platform
  /** The interpreter and where it came from; path null when there is none. */
  interpreter: { source: 'env' | 'venv' | 'none'; path: string | null; exists: boolean }
  probe: ProbeFacts | null
  /** Why the probe gave no answer (the interpreter failed to start, timed out...). */
  probeError: string | null
  smi: SmiFacts | null
  disks: DiskFacts[]
}
