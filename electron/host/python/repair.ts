/**
 * What Repair runs for a doctor check: only the pip installs that fix what the check found,
 * or a new environment where the environment itself is broken. Pure, so that the plan for
 * each recorded machine is tested without running pip.
 */
import type { DoctorCheckId } from '@shared/doctor'
import type { MachineFacts } from './diagnosis'
import { chooseTorchBuild } from './torchBuild'

/** Either a fresh environment, or pip commands (arguments after `python -m pip install`) run in order. */
export type RepairPlan =
  { kind: 'recreate'; reason: string } | { kind: 'pip'; steps: string[][]; reason: string } | { kind: 'none'; reason: string }

/** "torch==2.9.1" lines of a requirements file that apply everywhere or on this platform, by package name. */
export function pinnedVersions(requirements: string): Map<string, string> {
  const pins = new Map<string, string>()
  for (const line of requirements.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)/.exec(line)
    if (match) pins.set(match[1]!.toLowerCase(), match[2]!)
  }
  return pins
}

/** The pip arguments that install the pinned torch build for this machine. */
export function torchInstallArguments(facts: Pick<MachineFacts, 'platform' | 'smi'>, version: string): string[] {
  const build = chooseTorchBuild(facts.platform, facts.smi)
  return ['--force-reinstall', `torch==${version}`, ...(build.indexUrl ? ['--index-url', build.indexUrl] : [])]
}

/** The repair of one check, given what the doctor found and the pinned requirements. */
export function planRepair(check: DoctorCheckId, facts: MachineFacts, requirements: string): RepairPlan {
  const pins = pinnedVersions(requirements)
  const torch = pins.get('torch')
  const ownVenv = facts.interpreter.source !== 'env'
  switch (check) {
    case 'python':
    case 'environment':
      return ownVenv
        ? { kind: 'recreate', reason: 'A new environment with the pinned packages.' }
        : { kind: 'none', reason: 'TUNEDECK_PYTHON is yours: fix or unset it.' }
    case 'packages': {
      const wrong = (facts.probe?.packages ?? []).filter((entry) => entry.installed?.split('+')[0] !== entry.wanted)
      if (wrong.length === 0) return { kind: 'none', reason: 'Every pinned package is installed.' }
      const steps: string[][] = []
      // torch comes from the build that fits the driver, the rest from the default index.
      if (wrong.some((entry) => entry.name.toLowerCase() === 'torch') && torch) steps.push(torchInstallArguments(facts, torch))
      const others = wrong.filter((entry) => entry.name.toLowerCase() !== 'torch').map((entry) => `${entry.name}==${entry.wanted}`)
      if (others.length > 0) steps.push(others)
      return { kind: 'pip', steps, reason: `Reinstalls ${wrong.map((entry) => entry.name).join(', ')}.` }
    }
    case 'torch':
    case 'cuda':
      if (!torch) return { kind: 'none', reason: 'The requirements pin no torch.' }
      return { kind: 'pip', steps: [torchInstallArguments(facts, torch)], reason: chooseTorchBuild(facts.platform, facts.smi).reason }
    case 'bitsandbytes': {
      const version = pins.get('bitsandbytes')
      if (!version) return { kind: 'none', reason: 'bitsandbytes has no build for this platform.' }
      return { kind: 'pip', steps: [['--force-reinstall', '--no-deps', `bitsandbytes==${version}`]], reason: 'Reinstalls bitsandbytes.' }
    }
    case 'disk':
      return { kind: 'none', reason: 'Free disk space by hand: delete old checkpoints, exports or models.' }
  }
}
