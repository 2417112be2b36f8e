/**
 * The fast path for step events, most of what a job writes: the checks of the
 * protocol's stepEvent (electron/shared/protocol.ts) written out by hand, about
 * ten times cheaper per line than zod's parse on the host's ingest path
 * (bench/event_parse.ts). A line it does not accept goes to zod, which accepts
 * it or says what is wrong; tests/host/stepEvent.test.ts holds the two to the
 * same answers.
 */
import type { TrainerEvent } from '@shared/protocol'

type Fields = Record<string, unknown>

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)
const count = (value: unknown, least: number): boolean => Number.isSafeInteger(value) && (value as number) >= least

/** `value` as a step event when it is a valid one (unknown fields kept, as zod's looseObject keeps them), else null. */
export function fastStepEvent(value: unknown): TrainerEvent | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  const event = value as Fields
  if (event.type !== 'step' || event.v !== 1 || !count(event.seq, 1) || !finite(event.time)) return null
  if (!count(event.step, 1) || !count(event.totalSteps, 1) || !count(event.tokens, 0)) return null
  if (!finite(event.loss) || !finite(event.lr) || !(event.gradNorm === null || finite(event.gradNorm))) return null
  if (!finite(event.epoch) || event.epoch < 0 || !finite(event.tokensPerSecond) || event.tokensPerSecond < 0) return null
  const mfu = event.mfu
  if (!(mfu === undefined || mfu === null || (finite(mfu) && mfu >= 0))) return null
  return event as TrainerEvent
}
