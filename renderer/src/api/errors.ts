/** Turns anything a transport rejects with into the contract's AppError shape. */
import { appError, isAppError, type AppError } from '@shared/errors'

/** An AppError as is, or an internal error naming what was thrown. */
export function toAppError(value: unknown): AppError {
  if (isAppError(value)) return value
  if (value instanceof Error) return appError('internal', value.message)
  return appError('internal', String(value))
}

/** The message to show for any rejection. */
export function errorMessage(value: unknown): string {
  return toAppError(value).message
}
