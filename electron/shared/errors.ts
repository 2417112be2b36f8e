/**
 * Errors cross every process boundary as plain data, never as Error objects,
 * so that the renderer can show them beside the field or file they name.
 */
import { z } from 'zod'

export const errorCodes = [
  'invalid_input',
  'not_found',
  'conflict',
  'unauthorized',
  'python_missing',
  'internal',
] as const

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
 * Turns zod issues into an invalid_input AppError whose message names the
 * first field and whose data lists every field with its problem.
 */
export function validationError(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string; code?: string; keys?: ReadonlyArray<string> }>,
  what: string,
): AppError {
  const fields: Record<string, string> = {}
  for (const issue of issues) {
    // An unknown key is named by itself, as the trainer names it, not by its parent object.
    const path = issue.code === 'unrecognized_keys' && issue.keys?.[0] ? [...issue.path, issue.keys[0]] : issue.path
    const key = path.map(String).join('.') || '(root)'
    if (!(key in fields)) fields[key] = issue.message
  }
  const [firstKey, firstMessage] = Object.entries(fields)[0] ?? ['(root)', 'invalid']
  return appError('invalid_input', `${what}: ${firstKey}: ${firstMessage}`, { fields })
}
