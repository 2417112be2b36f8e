/**
 * Checkpoint folders on disk: jobs/<id>/checkpoints/<name>/. The trainer
 * writes each into .tmp-<name>/ and renames it into place with state.json
 * ({"complete": true, "step": N, ...}) last, so only such folders are whole.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/** Prefixes of a checkpoint still being written or deleted (or abandoned by a killed process). */
export const temporaryPrefixes = ['.tmp-', '.old-']

export interface CheckpointFolder {
  name: string
  step: number
  /** Modification time of state.json, ms since the epoch. */
  time: number
}

export function checkpointsDir(jobDir: string): string {
  return path.join(jobDir, 'checkpoints')
}

/** The folder's state if it is a whole checkpoint, else undefined. */
export function wholeCheckpoint(jobDir: string, name: string): CheckpointFolder | undefined {
  if (name.startsWith('.')) return undefined
  const stateFile = path.join(checkpointsDir(jobDir), name, 'state.json')
  try {
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { complete?: unknown; step?: unknown }
    if (state.complete !== true) return undefined
    return { name, step: typeof state.step === 'number' ? state.step : 0, time: fs.statSync(stateFile).mtimeMs }
  } catch {
    return undefined
  }
}

/** Every whole checkpoint of a job, newest step first. */
export function wholeCheckpoints(jobDir: string): CheckpointFolder[] {
  let names: string[]
  try {
    names = fs.readdirSync(checkpointsDir(jobDir))
  } catch {
    return []
  }
  return names
    .map((name) => wholeCheckpoint(jobDir, name))
    .filter((folder): folder is CheckpointFolder => folder !== undefined)
    .sort((a, b) => b.step - a.step || b.time - a.time)
}

/**
 * The checkpoint a resume continues from: the one the paused event named
 * when it is whole, else the newest whole one.
 */
export function resumeCheckpoint(jobDir: string, preferred: string | null): CheckpointFolder | undefined {
  if (preferred !== null) {
    const named = wholeCheckpoint(jobDir, preferred)
    if (named !== undefined) return named
  }
  return wholeCheckpoints(jobDir)[0]
}

/** Removes half-written .tmp- (and half-deleted .old-) folders, which no loader would accept. */
export function removeTemporaryCheckpoints(jobDir: string): void {
  let names: string[]
  try {
    names = fs.readdirSync(checkpointsDir(jobDir))
  } catch {
    return
  }
  for (const name of names) {
    if (temporaryPrefixes.some((prefix) => name.startsWith(prefix)))
      fs.rmSync(path.join(checkpointsDir(jobDir), name), { recursive: true, force: true })
  }
}

/** The trainer's own rule for checkpoint names (python-runtime/tunedeck_trainer/control.py). */
const checkpointName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const reservedName = /^(step|pause)-\d+$/

/** Why `name` cannot name a checkpoint the user asks for, or undefined when it can. */
export function checkpointNameProblem(name: string): string | undefined {
  if (!checkpointName.test(name)) return "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
  if (reservedName.test(name)) return 'names like step-N and pause-N are kept for automatic checkpoints'
  return undefined
}

/** Deletes a checkpoint folder, renaming it first so a half-deleted folder never looks whole. */
export function removeCheckpointFolder(jobDir: string, name: string): void {
  const folder = path.join(checkpointsDir(jobDir), name)
  if (!fs.existsSync(folder)) return
  const trash = path.join(checkpointsDir(jobDir), `.old-${name}-${randomBytes(4).toString('hex')}`)
  fs.renameSync(folder, trash)
  fs.rmSync(trash, { recursive: true, force: true })
}
