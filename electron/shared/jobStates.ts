/**
 * The one table of job states: which status may follow which, and why. The
 * host's store refuses any status change that is not in it (see
 * electron/host/store/jobs.ts); the renderer may read it to decide which
 * buttons to show. docs/architecture.md shows the same table, and a test
 * keeps the two equal. Which of these changes an event makes (a trainer
 * event, a launch, an exit) is decided in one place, the host's reducer in
 * electron/host/jobs/lifecycle.ts.
 *
 *   queued -> starting -> running -> completed | failed | cancelled
 *   running -> pausing -> paused
 *   any live state -> interrupted when the host finds its process gone
 *   paused, interrupted and failed (with a checkpoint) -> queued on resume, same job id
 *
 * Writing the status a job already has is not a transition: the store
 * accepts it and nothing changes, so ingesting the same events again, or
 * pausing a job that is already pausing, is harmless.
 */
import { liveStatuses, type JobStatus } from './jobs'

/** What the user can ask of a job; each is a transition in the table. */
export type JobAction = 'pause' | 'resume' | 'cancel'

/** One allowed change of status, with what causes it. */
export interface JobTransition {
  from: JobStatus
  to: JobStatus
  /** What makes the job change, in words (docs/architecture.md shows it). */
  when: string
  /** The user's action that asks for it; absent when the host or the trainer causes it. */
  action?: JobAction
}

/** The same change from each of several states. */
function fromEach(states: readonly JobStatus[], to: JobStatus, when: string, action?: JobAction): JobTransition[] {
  return states.map((from) => (action === undefined ? { from, to, when } : { from, to, when, action }))
}

/** Every allowed change of status; anything else is refused. */
export const jobTransitions: readonly JobTransition[] = [
  { from: 'queued', to: 'starting', when: 'the queue launches it' },
  { from: 'queued', to: 'cancelled', when: 'the user cancels it', action: 'cancel' },
  { from: 'starting', to: 'running', when: 'the trainer reports started or a first step' },
  { from: 'starting', to: 'queued', when: 'the host stops before the trainer was spawned (back to the front of the queue)' },
  ...fromEach(['starting', 'running'], 'pausing', 'the user pauses it, or the host shuts down', 'pause'),
  ...fromEach(liveStatuses, 'paused', 'the trainer reports paused (it saved a pause checkpoint)'),
  ...fromEach(liveStatuses, 'completed', 'the trainer reports completed and the adapter is on disk'),
  ...fromEach(
    liveStatuses,
    'failed',
    'the trainer reports failed, exits without a result, stops responding, reports completed without an adapter, or cannot be started',
  ),
  ...fromEach(liveStatuses, 'cancelled', 'the user cancels it (the trainer reports cancelled, or the host stops it)', 'cancel'),
  ...fromEach(
    liveStatuses,
    'interrupted',
    'the host finds its process gone without a result (after a crash, or a shutdown that had to kill it)',
  ),
  { from: 'paused', to: 'queued', when: 'the user resumes it from its pause checkpoint', action: 'resume' },
  { from: 'paused', to: 'cancelled', when: 'the user cancels it', action: 'cancel' },
  { from: 'interrupted', to: 'queued', when: 'the user resumes it from its newest whole checkpoint, or from step 0', action: 'resume' },
  { from: 'interrupted', to: 'cancelled', when: 'the user cancels it', action: 'cancel' },
  { from: 'failed', to: 'queued', when: 'the user resumes it; only a job that saved a whole checkpoint', action: 'resume' },
]

/** True when the table has `from -> to` (a status is not a transition to itself). */
export function isJobTransition(from: JobStatus, to: JobStatus): boolean {
  return jobTransitions.some((transition) => transition.from === from && transition.to === to)
}

/**
 * Why a job in `from` cannot be set to `to`, in words ("cannot go from
 * completed to running"), or undefined when it can: the table has it, or
 * `to` is the status it already has.
 */
export function transitionProblem(from: JobStatus, to: JobStatus): string | undefined {
  return from === to || isJobTransition(from, to) ? undefined : `cannot go from ${from} to ${to}`
}

/** True when the user may ask for `action` on a job in `status`. */
export function canDo(action: JobAction, status: JobStatus): boolean {
  return jobTransitions.some((transition) => transition.action === action && transition.from === status)
}

/** The states from which the user may ask for `action`, in the table's order. */
export function statesAllowing(action: JobAction): JobStatus[] {
  const states = jobTransitions.filter((transition) => transition.action === action).map((transition) => transition.from)
  return [...new Set(states)]
}
