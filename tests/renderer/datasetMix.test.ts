/** The form's mix of datasets and GPUs: what jobs.create gets, what a field refuses, the global batch. */
import { describe, expect, it } from 'vitest'
import { globalBatch, mixRowOf, rankCount, typedGpus } from '../../renderer/src/logic/datasetMix'
import { checkNewJobForm, emptyForm } from '../../renderer/src/logic/newJobForm'

const library = {
  path: '/data/datasets/ab12/sums.jsonl',
  reading: {
    format: 'prompt_completion' as const,
    columns: { completion: 'reply' },
    textSplit: 'auto' as const,
    csvHeader: 'auto' as const,
  },
}

describe('the mix in the form', () => {
  it('sends the mixed datasets with their library reading and the weights typed', () => {
    const values = {
      ...emptyForm,
      datasetPath: '/data/chats.jsonl',
      datasetWeight: '0.5',
      mix: [{ ...mixRowOf(library), weight: '2' }, mixRowOf({ path: '/data/notes.txt', reading: undefined })],
    }
    expect(checkNewJobForm(values)).toEqual({
      ok: true,
      input: {
        model: { selftest: true },
        dataset: {
          path: '/data/chats.jsonl',
          weight: 0.5,
          mix: [
            {
              path: library.path,
              weight: 2,
              format: 'prompt_completion',
              columns: { completion: 'reply' },
              textSplit: 'auto',
              csvHeader: 'auto',
            },
            // The schema fills each mixed dataset's defaults: weight 1, all of its rows.
            { path: '/data/notes.txt', format: 'auto', columns: {}, textSplit: 'auto', csvHeader: 'auto', weight: 1 },
          ],
        },
      },
    })
    // Without a mix the first dataset's weight means nothing and is not sent.
    expect(checkNewJobForm({ ...emptyForm, datasetWeight: '0.5' })).toEqual({ ok: true, input: { model: { selftest: true } } })
  })

  it('refuses a weight that is no number above 0, beside the mix', () => {
    const check = checkNewJobForm({ ...emptyForm, datasetPath: '/data/chats.jsonl', mix: [{ ...mixRowOf(library), weight: 'half' }] })
    expect(check.ok).toBe(false)
    if (!check.ok) expect(check.errors['dataset.mix']).toMatch(/^Mix weight: expected a number above 0 and at most 100/)
    const zero = checkNewJobForm({ ...emptyForm, datasetPath: '/data/chats.jsonl', datasetWeight: '0', mix: [mixRowOf(library)] })
    expect(zero.ok === false && zero.errors['dataset.weight']).toMatch(/^Mix weight/)
  })
})

describe('GPUs and the global batch', () => {
  it('reads "all", a count or indices, and counts the ranks they make', () => {
    expect([typedGpus(''), typedGpus(' all '), typedGpus('2'), typedGpus('0, 2'), typedGpus('[1,3]'), typedGpus('two')]).toEqual([
      undefined,
      'all',
      2,
      [0, 2],
      [1, 3],
      'two',
    ])
    expect([rankCount(undefined, 4), rankCount('all', 0), rankCount(2, 4), rankCount([0, 2, 3], 4)]).toEqual([4, 1, 2, 3])
    expect(globalBatch(4, 2, 3)).toBe(24)
    expect(checkNewJobForm({ ...emptyForm, gpus: '0, 1' })).toEqual({
      ok: true,
      input: { model: { selftest: true }, training: { gpus: [0, 1] } },
    })
    const wrong = checkNewJobForm({ ...emptyForm, gpus: 'two' })
    expect(wrong.ok === false && wrong.errors['training.gpus']).toMatch(/^GPUs: expected "all", a number of GPUs, or a list of GPU indices/)
  })
})
