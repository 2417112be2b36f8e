/**
 * datasets.preview with tokens: what the UI draws is the trainer's own
 * tokenisation (the self-test tokenizer and ChatML template by default):
 * the learned tokens spell exactly the assistant's reply and its end token,
 * the system and user turns are masked, special tokens are marked, a weight-0
 * turn is masked, and plain text reports its training blocks.
 * Needs TUNEDECK_PYTHON (the trainer's venv). A few seconds.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RouteInput } from '@shared/routes'
import type { DatasetPreview, PreviewToken } from '@shared/datasets'
import { createHost, type Host } from '../../electron/host/host'
import { python, pythonRuntimeDir, resourcesDir, temporaryDir } from './jobs.harness'
import { request } from './routes'

const workDir = temporaryDir('tunedeck-masks-')
let host: Host

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON ??= python
  host = createHost({ dataDir: path.join(workDir, 'data'), resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  await host.start()
})

afterAll(async () => {
  await host?.shutdown()
  fs.rmSync(workDir, { recursive: true, force: true })
})

const preview = (input: RouteInput<'datasets.preview'>): Promise<DatasetPreview> => request(host, 'datasets.preview', input)

const learned = (tokens: PreviewToken[]): string =>
  tokens
    .filter((token) => token.learned)
    .map((token) => token.text)
    .join('')
const masked = (tokens: PreviewToken[]): string =>
  tokens
    .filter((token) => !token.learned)
    .map((token) => token.text)
    .join('')

describe('the preview with masks', () => {
  it('learns only the assistant turns it should, and marks special tokens', async () => {
    const row = {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Skip me.', weight: 0 },
        { role: 'user', content: 'Again' },
        { role: 'assistant', content: [{ type: 'text', value: 'Hello again.' }] },
      ],
    }
    const file = path.join(workDir, 'chat.jsonl')
    fs.writeFileSync(file, `${JSON.stringify(row)}\n`)
    const shown = await preview({ path: file, tokens: { maxSeqLength: 64, shown: 1 } })
    expect(shown.tokenError).toBeNull()
    const tokens = shown.tokens!.examples[0]!
    expect(learned(tokens)).toBe('Hello again.<|im_end|>')
    expect(masked(tokens)).toContain('Be brief.')
    expect(masked(tokens)).toContain('Skip me.')
    expect(tokens.filter((token) => token.special).map((token) => token.text)).toContain('<|im_start|>')
    expect(shown.tokens).toMatchObject({ tokenizer: expect.stringContaining('default'), blocks: null, overLength: 0 })
    // Shown as it trains: cut to the maximum sequence length, and counted as too long.
    const cut = await preview({ path: file, tokens: { maxSeqLength: 16, shown: 1 } })
    expect(cut.tokens).toMatchObject({ overLength: 1, examples: [expect.any(Array)] })
    expect(cut.tokens!.examples[0]).toHaveLength(16)
    expect(shown.tokens!.histogram.reduce((sum, bin) => sum + bin.count, 0)).toBe(1)
    // Training on inputs learns every token of the conversation.
    const all = await preview({ path: file, tokens: { maxSeqLength: 512, shown: 1, trainOnInputs: true } })
    expect(all.tokens!.examples[0]!.every((token) => token.learned)).toBe(true)
  })

  it('says how many blocks plain text becomes', async () => {
    const file = path.join(workDir, 'notes.txt')
    fs.writeFileSync(file, `${'The quick brown fox jumps over the lazy dog. '.repeat(40)}\n\nA second paragraph.\n`)
    const shown = await preview({ path: file, tokens: { maxSeqLength: 32, shown: 2 } })
    expect(shown.format).toBe('text')
    expect(shown.tokens!.blocks).toBeGreaterThan(5)
    expect(shown.tokens!.examples).toHaveLength(2)
    expect(shown.tokens!.examples[0]!.length).toBe(32)
  })

  it('names a model folder without a tokenizer, still showing the rows', async () => {
    const file = path.join(workDir, 'one.jsonl')
    fs.writeFileSync(file, `${JSON.stringify({ prompt: 'a', completion: 'b' })}\n`)
    const empty = path.join(workDir, 'no-model')
    fs.mkdirSync(empty)
    const shown = await preview({ path: file, tokens: { modelPath: empty } })
    expect(shown).toMatchObject({ ok: true, usable: 1, tokens: null })
    expect(shown.tokenError).toMatch(/no-model: cannot load a tokenizer/)
  })
})
