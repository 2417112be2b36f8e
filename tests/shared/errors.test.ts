import { describe, expect, it } from 'vitest'
import { appError, fieldErrorsOf, isAppError, newJobInputSchema, validationError } from '../../electron/shared'

describe('errors', () => {
  it('names the first bad field in the message and lists every field', () => {
    const parsed = newJobInputSchema.safeParse({ model: { kind: 'path', path: '' }, batchSize: 0 })
    expect(parsed.success).toBe(false)
    const error = validationError(parsed.error!.issues, 'New job')
    expect(error.code).toBe('invalid_input')
    expect(error.message).toMatch(/^New job: (model\.path|batchSize): /)
    expect(Object.keys(fieldErrorsOf(error)).sort()).toEqual(['batchSize', 'model.path'])
    expect(fieldErrorsOf(error)['model.path']).toBe('choose a model folder or hub id')
  })

  it('recognises the error shape and nothing else', () => {
    expect(isAppError(appError('not_found', 'No job x'))).toBe(true)
    expect(isAppError(new Error('boom'))).toBe(false)
    expect(isAppError({ code: 'made_up', message: 'x' })).toBe(false)
  })
})
