/**
 * The environment doctor: its verdicts and repairs on recorded outputs of nvidia-smi and of
 * the doctor probe from five kinds of machine (tests/fixtures/doctor), the torch build chosen
 * for each, and the real checks on this machine with the real trainer Python.
 */
import { readFileSync } from 'node:fs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { DoctorCheck, DoctorCheckId } from '@shared/doctor'
import { doctorReportSchema } from '@shared/doctor'
import { diagnose, hasKernelsFor, type MachineFacts, type ProbeFacts } from '../../electron/host/python/diagnosis'
import { EnvironmentDoctor } from '../../electron/host/python/doctor'
import { PythonEnvironment } from '../../electron/host/python/environment'
import { parseSmiCudaVersion, parseSmiIdentity } from '../../electron/host/python/machine'
import { planRepair } from '../../electron/host/python/repair'
import { chooseTorchBuild } from '../../electron/host/python/torchBuild'
import { trainerPython } from './trainerPython'

const repoDir = join(__dirname, '..', '..')
const requirements = readFileSync(join(repoDir, 'python-runtime', 'requirements.txt'), 'utf8')
const GB = 1024 ** 3

interface Recorded {
  platform: NodeJS.Platform
  smiQuery: string | null
  smiBanner: string | null
  probe: ProbeFacts
}

/** The facts the doctor would gather on a recorded machine, its outputs parsed by the real parsers. */
function machine(name: string, freeBytes = 200 * GB): MachineFacts {
  const recorded = JSON.parse(readFileSync(join(repoDir, 'tests', 'fixtures', 'doctor', `${name}.json`), 'utf8')) as Recorded
  const identity = recorded.smiQuery === null ? null : parseSmiIdentity(recorded.smiQuery)
  const smi =
    identity === null
      ? null
      : {
          ...identity,
          cudaVersion: recorded.smiBanner === null ? null : parseSmiCudaVersion(recorded.smiBanner),
          capabilities: identity.gpus.map((gpu) => gpu.capability),
        }
  return {
    platform: recorded.platform,
    interpreter: { source: 'venv', path: recorded.probe.python.executable, exists: true },
    probe: recorded.probe,
    probeError: null,
    smi,
    disks: [{ label: 'the data folder', path: '/data', freeBytes }],
  }
}

function verdicts(checks: DoctorCheck[]): Record<string, string> {
  return Object.fromEntries(checks.map((entry) => [entry.id, entry.verdict]))
}

function checkOf(checks: DoctorCheck[], id: DoctorCheckId): DoctorCheck {
  const found = checks.find((entry) => entry.id === id)
  if (!found) throw new Error(`no ${id} check`)
  return found
}

describe('nvidia-smi', () => {
  it('reads the GPUs, their compute capability, the driver and its CUDA version', () => {
    expect(parseSmiIdentity('NVIDIA GeForce RTX 4090, 8.9, 570.86.10\nNVIDIA RTX A6000, Ada, 8.6, 570.86.10\n')).toEqual({
      gpus: [
        { name: 'NVIDIA GeForce RTX 4090', capability: '8.9' },
        { name: 'NVIDIA RTX A6000, Ada', capability: '8.6' },
      ],
      driverVersion: '570.86.10',
    })
    expect(parseSmiCudaVersion('| NVIDIA-SMI 470.57.02    Driver Version: 470.57.02    CUDA Version: 11.4     |')).toBe('11.4')
    expect(parseSmiCudaVersion('no banner')).toBeNull()
  })
})

describe('verdicts on recorded machines', () => {
  it('no GPU: torch is fine and trains on the CPU; the GPU checks are skipped', () => {
    const checks = diagnose(machine('no-gpu'))
    expect(verdicts(checks)).toEqual({
      python: 'ok',
      environment: 'ok',
      packages: 'ok',
      torch: 'ok',
      bitsandbytes: 'skipped',
      disk: 'ok',
      cuda: 'skipped',
    })
    expect(checkOf(checks, 'torch').summary).toContain('training runs on the CPU')
  })

  it('RTX 3090 with a driver for CUDA 11.4 beside a CUDA 12.8 torch: update the driver, no torch build fits', () => {
    const facts = machine('rtx3090-old-driver')
    const torch = checkOf(diagnose(facts), 'torch')
    expect(torch.verdict).toBe('problem')
    expect(torch.summary).toContain('built for CUDA 12.8')
    expect(torch.summary).toContain('supports CUDA 11.4 at most')
    expect(torch.action).toContain('Update the NVIDIA driver')
    expect(chooseTorchBuild('linux', facts.smi)).toMatchObject({ cuda: null })
  })

  it('RTX 4090 with the matching driver and torch: every check passes, the smoke test is timed', () => {
    const checks = diagnose(machine('rtx4090'))
    expect(verdicts(checks)).toEqual({
      python: 'ok',
      environment: 'ok',
      packages: 'ok',
      torch: 'ok',
      bitsandbytes: 'ok',
      disk: 'ok',
      cuda: 'ok',
    })
    expect(checkOf(checks, 'cuda').summary).toContain('152.3 TFLOPS')
  })

  it('RTX 5090 beside a CUDA 12.6 torch: no kernels for compute capability 12.0; Repair installs the CUDA 12.8 build', () => {
    const facts = machine('rtx5090-cu126')
    const checks = diagnose(facts)
    const torch = checkOf(checks, 'torch')
    expect(torch.verdict).toBe('problem')
    expect(torch.summary).toContain('no kernels for NVIDIA GeForce RTX 5090 (compute capability 12.0')
    expect(torch.action).toContain('CUDA 12.8')
    expect(checkOf(checks, 'cuda').verdict).toBe('problem')
    // The driver supports CUDA 12.9: the newest build it runs is 12.8, which PyPI serves for Linux.
    expect(planRepair('torch', facts, requirements)).toMatchObject({ kind: 'pip', steps: [['--force-reinstall', 'torch==2.9.1']] })
  })

  it("Windows, a CPU-only torch beside an RTX 4070: a problem, and Repair installs the CUDA 12.6 build from PyTorch's index", () => {
    const facts = machine('windows-cpu-torch-beside-gpu')
    const checks = diagnose(facts)
    expect(checkOf(checks, 'torch')).toMatchObject({ verdict: 'problem' })
    expect(checkOf(checks, 'torch').summary).toContain('CPU-only build, beside NVIDIA GeForce RTX 4070')
    expect(checkOf(checks, 'packages').summary).toContain('bitsandbytes missing (needs 0.48.2)')
    expect(planRepair('torch', facts, requirements)).toEqual({
      kind: 'pip',
      steps: [['--force-reinstall', 'torch==2.9.1', '--index-url', 'https://download.pytorch.org/whl/cu126']],
      reason: "CUDA 12.6 build from PyTorch's wheel index (the driver supports CUDA 12.6).",
    })
    // Only what is wrong: torch 2.9.1+cpu is the pinned release (its build is the torch check's
    // business), so the packages repair installs bitsandbytes alone.
    expect(planRepair('packages', facts, requirements)).toMatchObject({ kind: 'pip', steps: [['bitsandbytes==0.48.2']] })
  })

  it('low disk space is a warning under 20 GB and a problem under 2 GB', () => {
    expect(checkOf(diagnose(machine('rtx4090', 12 * GB)), 'disk').verdict).toBe('warning')
    expect(checkOf(diagnose(machine('rtx4090', 1 * GB)), 'disk')).toMatchObject({ verdict: 'problem' })
  })

  it('a missing environment leads to set-up, and Repair creates it', () => {
    const facts: MachineFacts = { ...machine('no-gpu'), interpreter: { source: 'none', path: null, exists: false }, probe: null }
    const checks = diagnose(facts)
    expect(checkOf(checks, 'python')).toMatchObject({ verdict: 'problem', action: 'Set up the environment.' })
    expect(checks.filter((entry) => entry.id !== 'python' && entry.id !== 'disk').every((entry) => entry.verdict === 'skipped')).toBe(true)
    expect(planRepair('python', facts, requirements).kind).toBe('recreate')
  })
})

describe('kernels for a GPU', () => {
  it('runs a binary on a newer minor of the same major, and PTX on any newer GPU', () => {
    const cu128 = ['sm_75', 'sm_80', 'sm_86', 'sm_90', 'sm_100', 'sm_120', 'compute_120']
    expect(hasKernelsFor(cu128, '8.9')).toBe(true) // RTX 4090 runs sm_86 code
    expect(hasKernelsFor(cu128, '12.0')).toBe(true)
    expect(hasKernelsFor(['sm_80', 'sm_86', 'sm_90'], '12.0')).toBe(false) // a CUDA 12.6 build on an RTX 5090
    expect(hasKernelsFor(['sm_80', 'compute_90'], '12.0')).toBe(true)
    expect(hasKernelsFor(['sm_86'], '8.0')).toBe(false)
  })
})

describe('the torch build for a machine', () => {
  it("chooses the newest build the driver runs, from PyPI on Linux where it has it and from PyTorch's index on Windows", () => {
    const gpu = (cudaVersion: string, capability = '8.9') => ({ cudaVersion, capabilities: [capability] })
    // No GPU: the CPU build from PyTorch's CPU index, not several GB of CUDA libraries, and set-up says so.
    expect(chooseTorchBuild('linux', null)).toMatchObject({ cuda: null, indexUrl: 'https://download.pytorch.org/whl/cpu' })
    expect(chooseTorchBuild('win32', null).reason).toMatch(/^No NVIDIA GPU: the CPU build of PyTorch .*Repair installs a CUDA build/)
    expect(chooseTorchBuild('darwin', null)).toMatchObject({ cuda: null, indexUrl: null })
    expect(chooseTorchBuild('linux', gpu('12.8'))).toMatchObject({ cuda: '12.8', indexUrl: null })
    expect(chooseTorchBuild('linux', gpu('12.6'))).toMatchObject({ cuda: '12.6', indexUrl: 'https://download.pytorch.org/whl/cu126' })
    expect(chooseTorchBuild('linux', gpu('13.0'))).toMatchObject({ cuda: '13.0', indexUrl: 'https://download.pytorch.org/whl/cu130' })
    expect(chooseTorchBuild('win32', gpu('12.9'))).toMatchObject({ cuda: '12.8', indexUrl: 'https://download.pytorch.org/whl/cu128' })
    // A Blackwell card on a driver for CUDA 12.6: no build has both its kernels and this driver.
    expect(chooseTorchBuild('win32', gpu('12.6', '12.0'))).toMatchObject({ cuda: null, indexUrl: 'https://download.pytorch.org/whl/cpu' })
    expect(chooseTorchBuild('win32', gpu('12.6', '12.0')).reason).toContain('update the NVIDIA driver')
  })
})

describe('on this machine', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tunedeck-doctor-'))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it('examines the real trainer Python: the pinned packages are there, torch imports, and the GPU checks say why they are skipped', async () => {
    const env = { ...process.env, TUNEDECK_PYTHON: trainerPython() }
    const python = new PythonEnvironment({ dataDir, pythonRuntimeDir: join(repoDir, 'python-runtime'), emit: () => undefined, env })
    const doctor = new EnvironmentDoctor({ python, dataDir, pythonRuntimeDir: join(repoDir, 'python-runtime') })
    const report = doctorReportSchema.parse(await doctor.examine())
    const found = verdicts(report.checks)
    expect(found.python).toBe('ok')
    expect(found.packages).toBe('ok')
    expect(checkOf(report.checks, 'environment').summary).toContain('TUNEDECK_PYTHON')
    expect(checkOf(report.checks, 'disk').summary).toMatch(/GB free for the data folder/)
    if (process.env.CUDA_VISIBLE_DEVICES === undefined && !report.checks.some((entry) => entry.summary.includes('sees'))) {
      expect(found.torch).toBe('ok')
      expect(found.cuda).toBe('skipped')
    }
  }, 120_000)
})
