/**
 * The environment doctor: gathers this machine's facts (machine.ts), judges them
 * (diagnosis.ts) and repairs what a check found (repair.ts) through the Python environment
 * manager, whose progress streams as python.setup events like the set-up's.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { appError } from '@shared/errors'
import type { DoctorCheckId, DoctorReport } from '@shared/doctor'
import type { SetupProgress } from '@shared/system'
import { diagnose, type MachineFacts } from './diagnosis'
import type { PythonEnvironment } from './environment'
import { gatherFacts, readSmi } from './machine'
import { planRepair } from './repair'
import { chooseTorchBuild, type TorchBuild } from './torchBuild'

export interface DoctorOptions {
  python: PythonEnvironment
  dataDir: string
  pythonRuntimeDir: string
  /** Defaults to <pythonRuntimeDir>/requirements.txt. */
  requirementsFile?: string
}

/** One per host: examines on request and remembers the facts a repair acts on. */
export class EnvironmentDoctor {
  private facts: MachineFacts | null = null
  private examining: Promise<DoctorReport> | null = null

  constructor(private readonly options: DoctorOptions) {}

  private get requirementsFile(): string {
    return this.options.requirementsFile ?? join(this.options.pythonRuntimeDir, 'requirements.txt')
  }

  /** Runs every check (a second request while one runs shares its answer). */
  examine(): Promise<DoctorReport> {
    this.examining ??= this.run().finally(() => {
      this.examining = null
    })
    return this.examining
  }

  private async run(): Promise<DoctorReport> {
    const started = Date.now()
    this.facts = await gatherFacts({
      location: this.options.python.location(),
      pythonRuntimeDir: this.options.pythonRuntimeDir,
      requirementsFile: this.requirementsFile,
      dataDir: this.options.dataDir,
    })
    return { time: Date.now(), checks: diagnose(this.facts), milliseconds: Date.now() - started }
  }

  /** Starts the repair of one check, from the facts of the last examination (examines first if none). */
  async repair(check: DoctorCheckId): Promise<SetupProgress> {
    const facts = this.facts ?? (await this.examine(), this.facts)
    if (!facts) throw appError('internal', 'The doctor found nothing to repair from.')
    const requirements = await readFile(this.requirementsFile, 'utf8').catch(() => {
      throw appError(
        'python_missing',
        `The requirements file ${this.requirementsFile} is missing, so nothing can be reinstalled: reinstall Tunedeck.`,
      )
    })
    // The next look must see what the repair changed.
    this.facts = null
    return this.options.python.repair(planRepair(check, facts, requirements))
  }
}

/** The torch build for this machine, for the first set-up (asks nvidia-smi). */
export async function machineTorchBuild(): Promise<TorchBuild> {
  return chooseTorchBuild(process.platform, await readSmi())
}
