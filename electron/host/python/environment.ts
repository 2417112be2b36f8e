/**
 * The Python environment the trainer runs in: where it is, what it has, and
 * the one-click set-up that creates <dataDir>/python-env and installs the
 * pinned requirements into it.
 *
 * The venv is built in python-env.partial and renamed when pip succeeds, so a
 * half-made venv never looks ready. The trainer is started with
 * `python -m tunedeck_trainer`, which works after the rename; console scripts
 * inside the venv (bin/pip) keep the .partial path in their first line and are
 * not used by the app.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { appError } from '@shared/errors'
import { folderBytes } from '../folderBytes'
import type { SetupProgress } from '@shared/system'
import { locatePython, probePython, venvDir, venvPython, type PythonInfo, type PythonLocation } from './interpreter'
import { countRequirements, PipProgress } from './progress'
import { pinnedVersions, type RepairPlan } from './repair'
import type { TorchBuild } from './torchBuild'
import { childEnvironment } from '../childEnv'

export type EnvState = SetupProgress['state']

/** Options of the environment manager; everything but the paths has a default. */
export interface PythonEnvironmentOptions {
  dataDir: string
  pythonRuntimeDir: string
  /** Receives every `python.setup` progress update. */
  emit: (progress: SetupProgress) => void
  /** Defaults to <pythonRuntimeDir>/requirements.txt; tests point at a tiny file. */
  requirementsFile?: string
  /** The Python that creates the venv; defaults to TUNEDECK_BASE_PYTHON, then python3, then python. */
  basePython?: string
  env?: NodeJS.ProcessEnv
  /** The torch build for this machine's GPU and driver (torchBuild.ts); the default index when absent. */
  torchBuild?: () => Promise<TorchBuild>
}

/** How long a probe's answer is reused. */
const probeCacheMs = 60_000

/** How many lines of pip output a failure message carries. */
const failureLines = 12

/** How often the bytes written into the environment are counted while pip installs. */
const installPollMs = 2_000

/** Finds, probes and sets up the trainer's Python. One instance per host. */
export class PythonEnvironment {
  private current: SetupProgress | null = null
  private running: Promise<SetupProgress> | null = null
  private child: ChildProcess | null = null
  private probeCache: { key: string; time: number; info: Promise<PythonInfo> } | null = null

  constructor(private readonly options: PythonEnvironmentOptions) {}

  private get env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env
  }

  /** Where the interpreter is right now (TUNEDECK_PYTHON, the venv, or none). */
  location(): PythonLocation {
    return locatePython(this.options.dataDir, this.env)
  }

  /** The interpreter's Python, torch and CUDA; reused for a minute per path, and until a set-up finishes. */
  probe(): Promise<PythonInfo> {
    const location = this.location()
    const key = `${location.source}:${location.path ?? ''}:${location.path && existsSync(location.path)}`
    // Importing torch costs seconds of CPU, so answers are reused for a minute; a user
    // who installs torch by hand sees it on the next look after that.
    const cached = this.probeCache
    if (cached && cached.key === key && Date.now() - cached.time < probeCacheMs) return cached.info
    const info = probePython(location)
    this.probeCache = { key, time: Date.now(), info }
    return info
  }

  /** missing, installing, ready (an interpreter exists) or failed (the last set-up failed). */
  envState(): EnvState {
    if (this.running) return 'installing'
    const location = this.location()
    if (location.path && existsSync(location.path)) return 'ready'
    return this.current?.state === 'failed' ? 'failed' : 'missing'
  }

  /** The interpreter path for a trainer, or an AppError python_missing. */
  async resolvePython(): Promise<string> {
    const location = this.location()
    if (location.path && existsSync(location.path)) return location.path
    throw appError(
      'python_missing',
      location.source === 'env'
        ? `TUNEDECK_PYTHON points at ${location.path}, which does not exist: fix the variable or unset it.`
        : 'Python environment is not set up: open Set-up and install it, or set TUNEDECK_PYTHON.',
    )
  }

  /**
   * Starts the set-up when the venv is missing and returns the progress so
   * far; a second call while one runs returns that one's progress.
   */
  setup(options: { recreate?: boolean } = {}): SetupProgress {
    if (this.running && this.current) return this.current
    if (!options.recreate && existsSync(venvPython(venvDir(this.options.dataDir)))) {
      return { state: 'ready', progress: 1, text: 'The Python environment is already installed.', error: null }
    }
    return this.start('Starting the set-up', () => this.install())
  }

  /** Carries out a doctor's repair plan: a new environment, or only the pip installs it lists. */
  repair(plan: RepairPlan): SetupProgress {
    if (this.running && this.current) return this.current
    if (plan.kind === 'none') throw appError('invalid_input', `Repair cannot fix this: ${plan.reason}`)
    if (plan.kind === 'recreate') return this.setup({ recreate: true })
    return this.start(`Repairing: ${plan.reason}`, () => this.pipSteps(plan.steps, plan.reason))
  }

  private start(text: string, work: () => Promise<SetupProgress>): SetupProgress {
    this.current = { state: 'installing', progress: 0, text, error: null }
    this.running = work().finally(() => {
      this.running = null
      this.probeCache = null
    })
    return this.current
  }

  /** Resolves when the running set-up ends (at once when none runs). */
  async settled(): Promise<SetupProgress | null> {
    return this.running ? await this.running : this.current
  }

  /** Stops a running set-up; its .partial folder is left for the next attempt to remove. */
  stop(): void {
    this.child?.kill()
  }

  private report(progress: SetupProgress): void {
    this.current = progress
    this.options.emit(progress)
  }

  private async install(): Promise<SetupProgress> {
    const finalDir = venvDir(this.options.dataDir)
    const partialDir = `${finalDir}.partial`
    const logFile = join(this.options.dataDir, 'python-setup.log')
    const requirementsFile = this.options.requirementsFile ?? join(this.options.pythonRuntimeDir, 'requirements.txt')
    const tail: string[] = []
    let progress = new PipProgress(1)
    const update = (text: string): void => {
      this.report({ state: 'installing', progress: progress.progress, text, error: null })
    }
    const onLine = (line: string): void => {
      if (!line.trim()) return
      tail.push(line)
      if (tail.length > failureLines) tail.shift()
      progress.line(line)
      void appendFile(logFile, `${line}\n`).catch(() => undefined)
      update(line)
    }
    try {
      await mkdir(this.options.dataDir, { recursive: true })
      await writeFile(logFile, `Set-up started ${new Date().toISOString()}\n`)
      const requirements = await readFile(requirementsFile, 'utf8').catch(() => {
        throw new Error(`The requirements file ${requirementsFile} is missing: reinstall Tunedeck.`)
      })
      progress = new PipProgress(countRequirements(requirements))
      await rm(partialDir, { recursive: true, force: true })
      const base = await this.findBasePython()
      update(`Creating the virtual environment with ${base}`)
      await this.run(base, ['-m', 'venv', partialDir], onLine)
      progress.venvReady()
      update(`Installing the packages in ${requirementsFile}`)
      const pipArgs = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--progress-bar', 'off']
      const build = await this.options.torchBuild?.()
      const torch = pinnedVersions(requirements).get('torch')
      if (build?.indexUrl && torch) {
        // PyPI has no CUDA build for this machine (Windows) or not the one its driver runs.
        update(`Installing torch ${torch}: ${build.reason}`)
        await this.run(venvPython(partialDir), [...pipArgs, `torch==${torch}`, '--index-url', build.indexUrl], onLine)
      }
      // pip prints nothing while it unpacks gigabytes: follow the bytes it writes instead.
      const baseline = await folderBytes(partialDir)
      const poll = setInterval(() => {
        void folderBytes(partialDir).then((bytes) => {
          if (progress.installedBytes(bytes - baseline)) update(`Installing: ${(bytes / 1e9).toFixed(1)} GB in the environment so far`)
        })
      }, installPollMs)
      try {
        await this.run(venvPython(partialDir), [...pipArgs, '-r', requirementsFile], onLine)
      } finally {
        clearInterval(poll)
      }
      // The old environment (broken, or being recreated) is moved aside, then removed once the new one is in place.
      const oldDir = `${finalDir}.old`
      await rm(oldDir, { recursive: true, force: true })
      if (existsSync(finalDir)) await rename(finalDir, oldDir)
      await rename(partialDir, finalDir)
      await rm(oldDir, { recursive: true, force: true })
      progress.done()
      const done: SetupProgress = { state: 'ready', progress: 1, text: `The Python environment is ready in ${finalDir}`, error: null }
      this.report(done)
      return done
    } catch (error) {
      const message = (error as Error).message
      const detail = tail.length > 0 ? `${message}\n${tail.join('\n')}` : message
      const failed: SetupProgress = {
        state: 'failed',
        progress: progress.progress,
        text: message,
        error: `${detail}\nThe whole log is in ${logFile}.`,
      }
      void appendFile(logFile, `FAILED: ${message}\n`).catch(() => undefined)
      this.report(failed)
      return failed
    }
  }

  /** Runs `pip install` with each step's arguments in the existing environment, streaming progress. */
  private async pipSteps(steps: string[][], reason: string): Promise<SetupProgress> {
    const python = await this.resolvePython()
    const logFile = join(this.options.dataDir, 'python-setup.log')
    let done = 0
    const report = (text: string): void =>
      this.report({ state: 'installing', progress: Math.min(0.99, (done + 0.5) / steps.length), text, error: null })
    const tail: string[] = []
    try {
      await appendFile(logFile, `Repair started ${new Date().toISOString()}: ${reason}\n`)
      for (const step of steps) {
        report(`pip install ${step.join(' ')}`)
        await this.run(
          python,
          ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--progress-bar', 'off', ...step],
          (line) => {
            if (!line.trim()) return
            tail.push(line)
            if (tail.length > failureLines) tail.shift()
            void appendFile(logFile, `${line}\n`).catch(() => undefined)
            report(line)
          },
        )
        done += 1
      }
      const finished: SetupProgress = { state: 'ready', progress: 1, text: `Repaired: ${reason}`, error: null }
      this.report(finished)
      return finished
    } catch (error) {
      const message = (error as Error).message
      const failed: SetupProgress = {
        state: 'failed',
        progress: done / steps.length,
        text: message,
        error: `${message}\n${tail.join('\n')}\nThe whole log is in ${logFile}.`,
      }
      this.report(failed)
      return failed
    }
  }

  /** The first base Python that runs and has the venv module. */
  private async findBasePython(): Promise<string> {
    const candidates = this.options.basePython
      ? [this.options.basePython]
      : this.env.TUNEDECK_BASE_PYTHON
        ? [this.env.TUNEDECK_BASE_PYTHON]
        : ['python3', 'python']
    const problems: string[] = []
    for (const candidate of candidates) {
      try {
        await this.run(candidate, ['-c', 'import sys, venv; assert sys.version_info >= (3, 10), sys.version'], () => undefined)
        return candidate
      } catch (error) {
        problems.push(`${candidate}: ${(error as Error).message}`)
      }
    }
    throw new Error(
      `No Python 3.10 or newer with the venv module was found (${problems.join('; ')}). Install Python 3.10+ or set TUNEDECK_BASE_PYTHON to one.`,
    )
  }

  /** Runs a command, feeding each output line to `onLine`; rejects on a non-zero exit. */
  private run(command: string, args: string[], onLine: (line: string) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        windowsHide: true,
        env: childEnvironment({ PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8', PIP_NO_COLOR: '1' }, { source: this.env }),
      })
      this.child = child
      let pending = ''
      const feed = (chunk: Buffer): void => {
        pending += chunk.toString('utf8')
        const lines = pending.split(/\r?\n|\r/)
        pending = lines.pop() ?? ''
        for (const line of lines) onLine(line)
      }
      child.stdout.on('data', feed)
      child.stderr.on('data', feed)
      child.on('error', (error: NodeJS.ErrnoException) => {
        reject(new Error(error.code === 'ENOENT' ? `${command} was not found` : error.message))
      })
      child.on('close', (code, signal) => {
        this.child = null
        if (pending) onLine(pending)
        if (code === 0) resolve()
        else reject(new Error(`${command} ${args.slice(0, 3).join(' ')} exited with ${signal ?? `code ${code}`}`))
      })
    })
  }
}
