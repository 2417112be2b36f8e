/**
 * The trainer protocol, version 1: JSON lines the trainer appends to
 * jobs/<id>/events.jsonl and commands the host writes to the trainer's stdin.
 * The Python side (python-runtime/tunedeck_trainer/protocol.py) declares the
 * same shapes; tests/fixtures/protocol holds the vectors both sides check.
 * Both sides ignore unknown fields; the host ignores unknown event types.
 */
import { z } from 'zod'

export const protocolVersion = 1

/** Exit codes that must agree with the last event. */
export const exitCodes = { completed: 0, failed: 1, paused: 3, cancelled: 4 } as const

const base = {
  v: z.literal(protocolVersion),
  seq: z.int().min(1),
  /** Unix time in seconds, fractional. */
  time: z.number(),
}

const phase = z.enum(['loading_model', 'loading_data', 'training', 'saving', 'evaluating'])

export const startedEvent = z.looseObject({
  ...base,
  type: z.literal('started'),
  step: z.int().min(0),
  totalSteps: z.int().min(0),
  epochs: z.number(),
  examples: z.int().min(0),
  device: z.string(),
  dtype: z.string(),
  trainableParams: z.int().min(0),
  totalParams: z.int().min(0),
})

export const heartbeatEvent = z.looseObject({ ...base, type: z.literal('heartbeat'), phase })

export const datasetEvent = z.looseObject({
  ...base,
  type: z.literal('dataset'),
  format: z.string(),
  examples: z.int().min(0),
  skipped: z.int().min(0),
  truncated: z.int().min(0),
  validationExamples: z.int().min(0),
  /** With dataset.mix: each dataset's path, library id, format, usable rows, weight and rows taken (data/mixing.py). */
  mix: z
    .array(
      z.looseObject({
        path: z.string(),
        datasetId: z.string().nullable(),
        format: z.string(),
        rows: z.int().min(0),
        weight: z.number(),
        taken: z.int().min(0),
      }),
    )
    .optional(),
})

export const stepEvent = z.looseObject({
  ...base,
  type: z.literal('step'),
  step: z.int().min(1),
  totalSteps: z.int().min(1),
  loss: z.number(),
  lr: z.number(),
  gradNorm: z.number().nullable(),
  /** Non-padding tokens processed in this optimizer step. */
  tokens: z.int().min(0),
  epoch: z.number().min(0),
  tokensPerSecond: z.number().min(0),
  /** Model FLOPs utilisation (4N FLOPs per token for LoRA) on a GPU whose peak is known. */
  mfu: z.number().min(0).nullable().optional(),
})

/** The pre-flight estimate of GPU memory, sent before training starts. */
export const memoryEvent = z.looseObject({
  ...base,
  type: z.literal('memory'),
  estimatedMb: z.number().min(0),
  freeMb: z.number().min(0).nullable(),
  /** null where there is no GPU to compare with. */
  fits: z.boolean().nullable(),
  detail: z.record(z.string(), z.number()),
  /** The job's ranks; with several, estimatedMb and detail are per GPU under `sharding`. */
  ranks: z.int().min(1).optional(),
  /** How the ranks hold the model (training.sharding, "auto" resolved); "single" for one rank. */
  sharding: z.enum(['single', 'ddp', 'fsdp']).optional(),
  /** One GPU holding the whole model (DDP), and one GPU's share under FSDP across the ranks. */
  wholeModelMb: z.number().min(0).optional(),
  shardedMb: z.number().min(0).optional(),
  /** The fit check in words: "fits one GPU: DDP", "needs FSDP across N GPUs", "does not fit even sharded ..."; null without a GPU. */
  placement: z.string().nullable().optional(),
})

/** CUDA ran out of memory; the trainer retries with a smaller micro-batch when allowed. */
export const oomEvent = z.looseObject({
  ...base,
  type: z.literal('oom'),
  step: z.int().min(0),
  batchSize: z.int().min(1),
  maxSeqLength: z.int().min(1),
  retry: z.boolean(),
  newBatchSize: z.int().min(1).nullable(),
  newGradientAccumulation: z.int().min(1).nullable(),
})

export const evalEvent = z.looseObject({ ...base, type: z.literal('eval'), step: z.int().min(0), loss: z.number() })

export const checkpointEvent = z.looseObject({
  ...base,
  type: z.literal('checkpoint'),
  step: z.int().min(0),
  name: z.string(),
  kind: z.enum(['periodic', 'named', 'pause']),
  path: z.string(),
  loss: z.number().nullable(),
  bytes: z.int().min(0),
})

export const logEvent = z.looseObject({
  ...base,
  type: z.literal('log'),
  level: z.enum(['debug', 'info', 'warning', 'error']),
  message: z.string(),
})

export const completedEvent = z.looseObject({
  ...base,
  type: z.literal('completed'),
  step: z.int().min(0),
  adapterPath: z.string(),
})

export const pausedEvent = z.looseObject({
  ...base,
  type: z.literal('paused'),
  step: z.int().min(0),
  checkpoint: z.string(),
})

export const cancelledEvent = z.looseObject({ ...base, type: z.literal('cancelled'), step: z.int().min(0) })

export const failedEvent = z.looseObject({
  ...base,
  type: z.literal('failed'),
  error: z.string(),
  traceback: z.string().nullable(),
  /** The config field or file the error is about, when there is one. */
  field: z.string().nullable().optional(),
})

export const trainerEventSchema = z.discriminatedUnion('type', [
  startedEvent,
  heartbeatEvent,
  datasetEvent,
  stepEvent,
  memoryEvent,
  oomEvent,
  evalEvent,
  checkpointEvent,
  logEvent,
  completedEvent,
  pausedEvent,
  cancelledEvent,
  failedEvent,
])

export type TrainerEvent = z.infer<typeof trainerEventSchema>
export type TrainerEventType = TrainerEvent['type']
export const trainerEventTypes = trainerEventSchema.options.map((option) => option.shape.type.value)

/** Event types after which the trainer exits. */
export const finalEventTypes = ['completed', 'paused', 'cancelled', 'failed'] as const

/** Commands written as JSON lines to the trainer's stdin. */
export const controlCommandSchema = z.discriminatedUnion('cmd', [
  z.object({ cmd: z.literal('pause') }),
  z.object({ cmd: z.literal('cancel') }),
  z.object({ cmd: z.literal('checkpoint'), name: z.string().min(1) }),
])

export type ControlCommand = z.infer<typeof controlCommandSchema>
