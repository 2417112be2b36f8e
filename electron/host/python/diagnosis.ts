/**
 * The environment doctor's verdicts: pure functions from what was found on the machine
 * (the doctor probe's JSON, nvidia-smi's answers, free disk space) to one check each, with
 * what to do. Kept apart from the probing so that recorded outputs of other machines (an RTX
 * 3090 with an old driver, a 5090 beside a CUDA 12.6 torch, a CPU-only torch beside a GPU)
 * test every decision here.
 */
import type { DoctorCheck } from '@shared/doctor'
import type { MachineFacts, SmiFacts } from './machineFacts'
import { chooseTorchBuild, compareVersions, versionParts } from './torchBuild'

export type { DiskFacts, MachineFacts, ProbeFacts, SmiFacts } from './machineFacts'

const GB = 1024 ** 3
/** The environment alone takes about 7.4 GB; a 7B model and its checkpoints need tens more. */
const diskProblemBytes = 2 * GB
const diskWarningBytes = 20 * GB
const minimumPython: [number, number] = [3, 10]

function check(
  id: DoctorCheck['id'],
  title: string,
  verdict: DoctorCheck['verdict'],
  summary: string,
  action: string | null = null,
  repair: string | null = null,
): DoctorCheck {
  return { id, title, verdict, summary, action, repair }
}

/** Every check, in the order the Set-up page lists them. */
export function diagnose(facts: MachineFacts): DoctorCheck[] {
  return [
    pythonCheck(facts),
    environmentCheck(facts),
    packagesCheck(facts),
    torchCheck(facts),
    bitsandbytesCheck(facts),
    diskCheck(facts),
    cudaCheck(facts),
  ]
}

function pythonCheck({ interpreter, probe, probeError }: MachineFacts): DoctorCheck {
  const title = 'Python'
  if (!interpreter.path || !interpreter.exists) {
    const where =
      interpreter.source === 'env' ? `TUNEDECK_PYTHON points at ${interpreter.path}, which does not exist` : 'No Python environment yet'
    return check(
      'python',
      title,
      'problem',
      `${where}.`,
      interpreter.source === 'env' ? 'Fix TUNEDECK_PYTHON or unset it to use the environment Tunedeck creates.' : 'Set up the environment.',
      interpreter.source === 'env' ? null : 'Create the environment and install the pinned packages.',
    )
  }
  if (!probe)
    return check(
      'python',
      title,
      'problem',
      `${interpreter.path} did not answer: ${probeError ?? 'no reason given'}.`,
      'Set up the environment again.',
      'Create the environment again.',
    )
  const [major, minor] = versionParts(probe.python.version)
  if (major < minimumPython[0] || (major === minimumPython[0] && minor < minimumPython[1])) {
    return check(
      'python',
      title,
      'problem',
      `Python ${probe.python.version} is too old; the trainer needs 3.10 or newer.`,
      'Install Python 3.10 or newer and set up the environment again.',
    )
  }
  return check('python', title, 'ok', `Python ${probe.python.version} at ${probe.python.executable}.`)
}

function environmentCheck({ interpreter, probe }: MachineFacts): DoctorCheck {
  const title = 'Environment'
  if (!probe) return check('environment', title, 'skipped', 'Python did not answer.')
  if (interpreter.source === 'env')
    return check('environment', title, 'ok', `TUNEDECK_PYTHON chooses ${interpreter.path}; Tunedeck leaves it as you made it.`)
  if (!probe.python.inVenv)
    return check(
      'environment',
      title,
      'warning',
      `${interpreter.path} is not inside a virtual environment.`,
      'Set up the environment again so the trainer has its own packages.',
      'Create the environment again.',
    )
  return check('environment', title, 'ok', 'The virtual environment Tunedeck created is intact.')
}

function packagesCheck({ probe }: MachineFacts): DoctorCheck {
  const title = 'Pinned packages'
  if (!probe) return check('packages', title, 'skipped', 'Python did not answer.')
  const wrong = probe.packages.filter((entry) => entry.installed !== entry.wanted && !sameRelease(entry.installed, entry.wanted))
  if (wrong.length === 0)
    return check('packages', title, 'ok', `All ${probe.packages.length} pinned packages are installed at their versions.`)
  const listed = wrong.map((entry) => `${entry.name} ${entry.installed ?? 'missing'} (needs ${entry.wanted})`).join(', ')
  return check(
    'packages',
    title,
    'problem',
    `${wrong.length} of ${probe.packages.length} differ: ${listed}.`,
    'Repair reinstalls just these.',
    `Install ${wrong.map((entry) => `${entry.name}==${entry.wanted}`).join(' ')}.`,
  )
}

/** torch reports "2.9.1+cu128" for the pin "2.9.1": the same release. */
function sameRelease(installed: string | null, wanted: string): boolean {
  return installed !== null && installed.split('+')[0] === wanted
}

/**
 * Whether torch's kernels run on a GPU of this compute capability: a binary for sm_XY runs on
 * any XZ with Z >= Y (same major; an RTX 4090, 8.9, runs sm_86 code), and PTX (compute_XY) is
 * compiled at load for any newer GPU.
 */
export function hasKernelsFor(archList: string[], capability: string): boolean {
  const [major, minor] = versionParts(capability)
  const wanted = major * 10 + minor
  return archList.some((entry) => {
    const number = Number.parseInt(entry.replace(/^(sm|compute)_/, ''), 10)
    if (!Number.isFinite(number)) return false
    if (entry.startsWith('compute_')) return number <= wanted
    return Math.floor(number / 10) === major && number <= wanted
  })
}

function torchCheck({ platform, probe, smi }: MachineFacts): DoctorCheck {
  const title = 'torch and the GPU'
  if (!probe) return check('torch', title, 'skipped', 'Python did not answer.')
  const torch = probe.torch
  if (!torch.version)
    return check(
      'torch',
      title,
      'problem',
      `torch cannot be imported: ${torch.error ?? 'not installed'}.`,
      'Repair installs the pinned torch for this machine.',
      reinstallText(platform, smi),
    )
  const gpu = smi && smi.gpus.length > 0 ? smi : null
  if (!gpu) {
    return check(
      'torch',
      title,
      'ok',
      `torch ${torch.version}; no NVIDIA GPU here, so training runs on the CPU (slowly; fine for the self-test).`,
    )
  }
  const names = gpu.gpus.map((entry) => entry.name).join(', ')
  if (!torch.cudaBuild) {
    return check(
      'torch',
      title,
      'problem',
      `torch ${torch.version} is a CPU-only build, beside ${names}: training would quietly run on the CPU.`,
      'Repair installs a CUDA build of torch for this driver.',
      reinstallText(platform, smi),
    )
  }
  if (gpu.cudaVersion && versionParts(torch.cudaBuild)[0] > versionParts(gpu.cudaVersion)[0]) {
    return check(
      'torch',
      title,
      'problem',
      `torch is built for CUDA ${torch.cudaBuild}, but the NVIDIA driver ${gpu.driverVersion ?? ''} supports CUDA ${gpu.cudaVersion} at most.`,
      `Update the NVIDIA driver (570 or newer for CUDA ${torch.cudaBuild}); ${driverOnlyFix(platform, smi)}`,
    )
  }
  const missing = gpu.gpus.filter((entry) => torch.archList.length > 0 && !hasKernelsFor(torch.archList, entry.capability))
  if (missing.length > 0) {
    const card = missing[0]!
    return check(
      'torch',
      title,
      'problem',
      `torch ${torch.version} has no kernels for ${card.name} (compute capability ${card.capability}; it has ${torch.archList.join(', ')}).`,
      `This GPU needs a torch built for CUDA ${Number.parseFloat(card.capability) >= 12 ? '12.8' : '12.6'} or newer.`,
      reinstallText(platform, smi),
    )
  }
  if (!torch.cudaAvailable) {
    return check(
      'torch',
      title,
      'problem',
      `torch ${torch.version} does not see ${names}${torch.error ? `: ${torch.error}` : ''}.`,
      'Update the NVIDIA driver and restart the machine; if it persists, run Repair.',
      reinstallText(platform, smi),
    )
  }
  if (gpu.cudaVersion && compareVersions(torch.cudaBuild, gpu.cudaVersion) > 0) {
    return check(
      'torch',
      title,
      'warning',
      `torch is built for CUDA ${torch.cudaBuild}, newer than the driver's CUDA ${gpu.cudaVersion}; it runs through CUDA's minor-version compatibility.`,
      'If a job fails to start on the GPU, update the NVIDIA driver.',
    )
  }
  return check(
    'torch',
    title,
    'ok',
    `torch ${torch.version} (CUDA ${torch.cudaBuild}) sees ${torch.devices.map((entry) => entry.name).join(', ') || names}.`,
  )
}

function reinstallText(platform: NodeJS.Platform, smi: SmiFacts | null): string {
  const build = chooseTorchBuild(platform, smi)
  return `Reinstall torch: ${build.reason}`
}

function driverOnlyFix(platform: NodeJS.Platform, smi: SmiFacts | null): string {
  const build = chooseTorchBuild(platform, smi)
  return build.cuda ? `or Repair installs the CUDA ${build.cuda} build this driver runs.` : 'no torch build runs on this driver.'
}

function bitsandbytesCheck({ probe, smi }: MachineFacts): DoctorCheck {
  const title = 'bitsandbytes (QLoRA)'
  if (!probe) return check('bitsandbytes', title, 'skipped', 'Python did not answer.')
  const facts = probe.bitsandbytes
  if (!probe.torch.cudaAvailable) {
    const note = facts.version ? `bitsandbytes ${facts.version} is installed` : 'bitsandbytes is not installed'
    return check('bitsandbytes', title, 'skipped', `${note}; 4-bit loading needs a CUDA GPU${smi ? ' that torch can use' : ''}.`)
  }
  if (!facts.version)
    return check(
      'bitsandbytes',
      title,
      'warning',
      `bitsandbytes cannot be imported: ${facts.error ?? 'not installed'}. Presets that load in 4-bit (QLoRA) will fail.`,
      'Repair reinstalls it.',
      'Reinstall bitsandbytes.',
    )
  if (facts.works === false)
    return check(
      'bitsandbytes',
      title,
      'warning',
      `bitsandbytes ${facts.version} imports but a 4-bit round trip on the GPU failed: ${facts.error ?? 'wrong values'}.`,
      'Repair reinstalls it.',
      'Reinstall bitsandbytes.',
    )
  return check('bitsandbytes', title, 'ok', `bitsandbytes ${facts.version} quantizes to 4-bit on the GPU.`)
}

function diskCheck({ disks }: MachineFacts): DoctorCheck {
  const title = 'Disk space'
  const known = disks.filter((disk) => disk.freeBytes !== null)
  if (known.length === 0) return check('disk', title, 'warning', 'The free space of the data folder could not be read.')
  const text = known.map((disk) => `${(disk.freeBytes! / GB).toFixed(1)} GB free for ${disk.label} (${disk.path})`).join('; ')
  const lowest = known.reduce((low, disk) => (disk.freeBytes! < low.freeBytes! ? disk : low))
  if (lowest.freeBytes! < diskProblemBytes)
    return check(
      'disk',
      title,
      'problem',
      `${text}.`,
      `Free space on the disk of ${lowest.label}: a model, its checkpoints and the environment (7.4 GB) need tens of GB.`,
    )
  if (lowest.freeBytes! < diskWarningBytes)
    return check('disk', title, 'warning', `${text}.`, 'Under 20 GB: a 7B model with its checkpoints may not fit.')
  return check('disk', title, 'ok', `${text}.`)
}

function cudaCheck({ probe }: MachineFacts): DoctorCheck {
  const title = 'CUDA smoke test'
  if (!probe?.torch.cudaAvailable) return check('cuda', title, 'skipped', 'No GPU that torch can use.')
  const smoke = probe.smoke
  if (!smoke) return check('cuda', title, 'skipped', 'Not run.')
  if (!smoke.ran || !smoke.finite)
    return check(
      'cuda',
      title,
      'problem',
      `A bf16 matrix multiplication on the GPU failed: ${smoke.error ?? 'it gave non-finite values'}.`,
      'Update the NVIDIA driver; if it persists, Repair reinstalls torch.',
      'Reinstall torch.',
    )
  return check(
    'cuda',
    title,
    'ok',
    `A 2048 x 2048 bf16 matrix multiplication took ${smoke.milliseconds!.toFixed(2)} ms (${smoke.tflops!.toFixed(1)} TFLOPS).`,
  )
}
