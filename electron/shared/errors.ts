/**
 * Errors cross every process boundary as plain data, never as Error objects,
 * so that the renderer can show them beside the field or file they name.
 */
import { z } from 'zod'
import { describeIssue, type Issue } from './fields'

export const errorCodes = ['invalid_input', 'not_found', 'conflict', 'unauthorized', 'python_missing', 'internal'] as const

export type ErrorCode = (typeof errorCodes)[number]

export const appErrorSchema = z.object({
  code: z.enum(errorCodes),
  message: z.string(),
  data: z.unknown().optional(),
})

/** The one error shape every route and transport uses. */
export type AppError = z.infer<typeof appErrorSchema>

/**
 * Field-level validation problems, keyed by the dotted path of the field
 * (for example `lora.rank`), carried in `AppError.data.fields`.
 */
export interface FieldErrors {
  fields: Record<string, string>
}

/** Builds an AppError; `data` is optional extra detail such as field errors. */
export function appError(code: ErrorCode, message: string, data?: unknown): AppError {
  return data === undefined ? { code, message } : { code, message, data }
}

/** True when `value` already has the AppError shape. */
export function isAppError(value: unknown): value is AppError {
  return appErrorSchema.safeParse(value).success
}

/** Reads field errors out of an AppError, or an empty map when it has none. */
export function fieldErrorsOf(error: AppError): Record<string, string> {
  const data = error.data as Partial<FieldErrors> | undefined
  return data && typeof data.fields === 'object' && data.fields !== null ? data.fields : {}
}

/**
 * Turns zod issues into an invalid_input AppError whose data.fields lists every
 * field, keyed by its dotted path, with its problem. Given the `schema` that was
 * parsed, fields are named by their labels (`.meta({ label })`, see fields.ts),
 * in data.fields and in the message: "LoRA rank: expected a whole number from 1
 * to 1024, got 0". Without one, the message names the first field's path.
 */
export function validationError(issues: ReadonlyArray<Issue>, what: string, schema?: z.ZodType): AppError {
  // A Map: a key is a path from the input, and "constructor" or "__proto__" must be a field like any other.
  const described = new Map<string, string>()
  let labelled: string | undefined
  for (const issue of issues) {
    const one = schema !== undefined ? describeIssue(schema, issue) : describeIssue(z.never(), issue)
    if (described.has(one.key)) continue
    described.set(one.key, one.message)
    if (one.labelled) labelled ??= one.message
  }
  const fields: Record<string, string> = Object.fromEntries(described)
  const [firstKey, firstMessage] = [...described][0] ?? ['(root)', 'invalid']
  return appError('invalid_input', labelled ?? `${what}: ${firstKey}: ${firstMessage}`, { fields })
}
