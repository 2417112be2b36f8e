/**
 * datasets.download through the real WebSocket of a real serve refuses URLs that lead to this
 * machine or a private network (literal addresses in any spelling, and names resolving there),
 * naming the URL and the option that allows them; started with the option, the same request
 * goes on to the download (which then fails here for want of Python, as a download does).
 * Before the fix a token holder could make the host fetch from 127.0.0.1 and read the answer.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPrivateAddress } from '../../electron/host/models/addresses'
import { startWireServe, type WireServe, restoreVariable } from './wireServe'

const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-private-downloads-'))
const savedPython = process.env.TUNEDECK_PYTHON
const privateUrls = [
  'http://127.0.0.1:8/data.jsonl',
  'http://localhost:8/data.jsonl',
  'https://10.1.2.3/data.jsonl',
  'https://192.168.0.10/data.csv',
  'https://169.254.169.254/latest/data.json',
  'https://[::1]/data.jsonl',
  'https://[::ffff:127.0.0.1]/data.jsonl',
  'https://0x7f000001/data.jsonl',
  'https://2130706433/data.jsonl',
  'https://[fd00::1]/data.jsonl',
  'https://0.0.0.0/data.jsonl',
]
let strict: WireServe
let open: WireServe

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON = join(workDir, 'no-python')
  strict = await startWireServe({ workDir: join(workDir, 'strict') })
  open = await startWireServe({ workDir: join(workDir, 'open'), host: { allowPrivateDownloads: true } })
})

afterAll(async () => {
  await strict?.stop()
  await open?.stop()
  restoreVariable('TUNEDECK_PYTHON', savedPython)
  rmSync(workDir, { recursive: true, force: true })
})

describe('datasets.download and private addresses', () => {
  it('refuses each private URL, naming it and --allow-private-downloads', async () => {
    const client = await strict.connect()
    for (const url of privateUrls) {
      const response = await client.request('datasets.download', { url })
      expect(response, url).toMatchObject({
        ok: false,
        error: {
          code: 'invalid_input',
          message: expect.stringContaining('--allow-private-downloads') as string,
          data: { fields: { url: expect.any(String) as string } },
        },
      })
    }
    expect(await strict.serving()).toBe(true)
  })

  it('lets them through when serve allows private downloads', async () => {
    const client = await open.connect()
    const response = await client.request('datasets.download', { url: 'http://127.0.0.1:8/data.jsonl' })
    expect(response).toMatchObject({ ok: true, output: { state: 'failed', error: { code: 'python_missing' } } })
  })

  it('classifies public and private addresses', () => {
    expect(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '172.32.0.1'].map(isPrivateAddress)).toEqual([false, false, false, false])
    expect(['127.0.0.1', '172.16.5.4', '100.64.0.1', 'fe80::1', '::', '::ffff:10.0.0.1', '224.0.0.1'].map(isPrivateAddress)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ])
  })
})
