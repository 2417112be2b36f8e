import { describe, expect, it } from 'vitest'
import { appError, fieldErrorsOf, isAppError, newJobInputSchema, validationError } from '@shared'

describe('errors', () => {
  it('names the first bad field by its path in the message and lists every field', () => {
    const parsed = newJobInputSchema.safeParse({ model: { path: '' }, dataset: { path: '/d.jsonl' }, training: { batchSize: 0 } })
    expect(parsed.success).toBe(false)
    const error = validationError(parsed.error!.issues, 'New job')
    expect(error.code).toBe('invalid_input')
    expect(error.message).toMatch(/^New job: (model\.path|training\.batchSize): /)
    expect(Object.keys(fieldErrorsOf(error)).sort()).toEqual(['model.path', 'training.batchSize'])
    expect(fieldErrorsOf(error)['model.path']).toBe('choose a model folder')
  })

  it('names fields by their labels, keyed by their config paths, given the schema', () => {
    const input = {
      model: { path: '/m' },
      lora: { rank: 2000, r: 4 },
      training: { batchSize: 'four' },
      dataset: { columns: { answer: 'output' } },
    }
    const parsed = newJobInputSchema.safeParse(input, { reportInput: true })
    const error = validationError(parsed.error!.issues, 'New job', newJobInputSchema)
    expect(fieldErrorsOf(error)).toEqual({
      'lora.rank': 'LoRA rank: expected a whole number from 1 to 1024, got 2000',
      'lora.r': 'LoRA settings: "r" is not a setting; remove it',
      'training.batchSize': 'Batch size: expected a whole number from 1 to 1024, got "four"',
      'dataset.columns.answer': expect.stringMatching(/^Column mapping: "answer" is not a field Tunedeck reads; map one of instruction, /),
    })
    // A setting outside its section (the flat shape jobs.create once took) is named as unknown.
    const flat = newJobInputSchema.safeParse({ model: { selftest: true }, epochs: 2 })
    expect(fieldErrorsOf(validationError(flat.error!.issues, 'New job', newJobInputSchema))).toEqual({
      epochs: 'New job: "epochs" is not a setting; remove it',
    })
    // The message is one field's, as the form would show it: label first, no config path.
    expect(Object.values(fieldErrorsOf(error))).toContain(error.message)
  })

  it('recognises the error shape and nothing else', () => {
    expect(isAppError(appError('not_found', 'No job x'))).toBe(true)
    expect(isAppError(new Error('boom'))).toBe(false)
    expect(isAppError({ code: 'made_up', message: 'x' })).toBe(false)
  })
})
