/**
 * Which PyTorch build suits this machine: the CUDA version of the wheel to install, and the
 * package index that has it. The pinned torch (requirements.txt) is published for CUDA 12.6,
 * 12.8 and 13.0 on PyTorch's own wheel index; the Python Package Index has its CUDA 12.8 build
 * for Linux, but only CPU builds for Windows, so a Windows machine with an NVIDIA GPU must
 * install from PyTorch's index or train on the CPU. A machine where no CUDA build can run gets
 * PyTorch's CPU build, which leaves out gigabytes of CUDA libraries it could not use.
 */

/** CUDA versions the pinned torch is built for, oldest first. */
export const torchCudaBuilds = ['12.6', '12.8', '13.0'] as const

/** The build the Python Package Index serves for Linux x86_64. */
const pypiLinuxBuild = '12.8'

/** Blackwell cards (RTX 50-series, compute capability 12.0) have kernels from CUDA 12.8 on. */
const blackwellCapability = 12.0
const blackwellMinimumBuild = '12.8'

/** A version such as "12.8" as a comparable number pair. */
export function versionParts(version: string): [number, number] {
  const [major = '0', minor = '0'] = version.trim().split('.')
  return [Number.parseInt(major, 10) || 0, Number.parseInt(minor, 10) || 0]
}

/** Negative, zero or positive as `a` is older, the same as or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const [aMajor, aMinor] = versionParts(a)
  const [bMajor, bMinor] = versionParts(b)
  return aMajor - bMajor || aMinor - bMinor
}

/** The wheel index for a CUDA build: "12.8" -> https://download.pytorch.org/whl/cu128. */
export function cudaIndexUrl(build: string): string {
  return `https://download.pytorch.org/whl/cu${build.replace('.', '')}`
}

/**
 * PyTorch's index of CPU builds: on Linux and Windows the default torch brings (or, on Linux,
 * pulls in) several GB of CUDA libraries that a machine without an NVIDIA GPU cannot use.
 */
export const cpuIndexUrl = 'https://download.pytorch.org/whl/cpu'

/** What set-up and Repair install torch from. */
export interface TorchBuild {
  /** The wheel's CUDA version; null for a CPU build. */
  cuda: string | null
  /** A package index to install torch from; null means the default index (PyPI). */
  indexUrl: string | null
  /** Why this build, in a sentence for the set-up log and the doctor. */
  reason: string
}

/** What the machine offers: null when there is no NVIDIA GPU or nvidia-smi cannot be run. */
export interface DriverFacts {
  /** The newest CUDA version the driver supports (nvidia-smi's "CUDA Version"). */
  cudaVersion: string | null
  /** Compute capabilities of the GPUs, such as "8.9" or "12.0". */
  capabilities: string[]
}

/**
 * The torch build for a platform and driver. The newest build the driver supports, since a
 * newer build than the driver's CUDA fails to start on a different major version and relies
 * on minor-version compatibility within one; a Blackwell GPU needs CUDA 12.8 or newer whatever
 * else is true. Returns a CPU build, with the reason, where no CUDA build can run.
 */
export function chooseTorchBuild(platform: NodeJS.Platform, driver: DriverFacts | null): TorchBuild {
  // macOS wheels are CPU (and MPS) builds already; elsewhere the CPU build is its own download.
  if (platform === 'darwin') return { cuda: null, indexUrl: null, reason: 'macOS has no CUDA: the default torch build.' }
  if (driver === null || driver.capabilities.length === 0) {
    return {
      cuda: null,
      indexUrl: cpuIndexUrl,
      reason:
        "No NVIDIA GPU: the CPU build of PyTorch from PyTorch's CPU index (about 1 GB, without the 7 GB of CUDA libraries); jobs train on the CPU. With a GPU added later, the doctor's Repair installs a CUDA build.",
    }
  }
  const driverCuda = driver.cudaVersion
  const supported = driverCuda === null ? [] : torchCudaBuilds.filter((build) => compareVersions(build, driverCuda) <= 0)
  const blackwell = driver.capabilities.some((capability) => Number.parseFloat(capability) >= blackwellCapability)
  let build: string | undefined = supported[supported.length - 1]
  if (blackwell && (build === undefined || compareVersions(build, blackwellMinimumBuild) < 0)) build = undefined
  if (build === undefined) {
    const needed = blackwell ? blackwellMinimumBuild : torchCudaBuilds[0]
    return {
      cuda: null,
      indexUrl: cpuIndexUrl,
      reason: `The NVIDIA driver supports CUDA ${driverCuda ?? 'of an unknown version'}, and this GPU needs a torch built for CUDA ${needed} or newer: update the NVIDIA driver (570 or newer), then run Repair.`,
    }
  }
  if (platform === 'linux' && build === pypiLinuxBuild) {
    return {
      cuda: build,
      indexUrl: null,
      reason: `CUDA ${build} build from the Python Package Index (the driver supports CUDA ${driverCuda}).`,
    }
  }
  return {
    cuda: build,
    indexUrl: cudaIndexUrl(build),
    reason: `CUDA ${build} build from PyTorch's wheel index (the driver supports CUDA ${driverCuda}).`,
  }
}
