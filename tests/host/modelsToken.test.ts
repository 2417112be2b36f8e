/**
 * Where the Hugging Face token is kept: in serve, a file only the user can read; in the desktop
 * app, encrypted by the operating system (Electron's safeStorage, which main runs for the host,
 * stood in for here by a reversible cipher, since Electron is not installed in the tests).
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createHost } from '../../electron/host/host'
import { fileTokenStore, osTokenStore, type OsCrypt } from '../../electron/host/models/settings'
import { pythonRuntimeDir, resourcesDir, temporaryDir } from './jobs.harness'
import { dispatch, request } from './routes'

const workDir = temporaryDir('tunedeck-token-')
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }))

/** A stand-in for safeStorage: base64 of the reversed text. */
const reversing: OsCrypt = {
  encrypt: async (text) => Buffer.from([...text].reverse().join('')).toString('base64'),
  decrypt: async (sealed) => [...Buffer.from(sealed, 'base64').toString()].reverse().join(''),
}

const mode = (file: string) => fs.statSync(file).mode & 0o777

describe('Hugging Face token', () => {
  it('is a 0600 file in serve', async () => {
    const dataDir = path.join(workDir, 'serve')
    const host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
    expect(await request(host, 'models.token', {})).toEqual({ stored: false, storage: 'private-file' })
    expect(await request(host, 'models.set_token', { token: '  hf_abcdefgh123  ' })).toEqual({ stored: true, storage: 'private-file' })
    expect(fs.readFileSync(path.join(dataDir, 'hf-token'), 'utf8')).toBe('hf_abcdefgh123')
    if (process.platform !== 'win32') expect(mode(path.join(dataDir, 'hf-token'))).toBe(0o600)
    const short = await dispatch(host, 'models.set_token', { token: 'hf_x' })
    expect(short.ok).toBe(false)
    await host.shutdown()
  })

  it('is encrypted by the operating system in the desktop app, and an older plain file moves into it', async () => {
    const dataDir = path.join(workDir, 'desktop')
    fs.mkdirSync(dataDir, { recursive: true })
    await fileTokenStore(dataDir).write('hf_from_an_older_version')
    const store = osTokenStore(dataDir, reversing)
    expect(await store.read()).toBe('hf_from_an_older_version')

    const host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test', osCrypt: reversing })
    expect(await request(host, 'models.set_token', { token: 'hf_secret_value_42' })).toEqual({ stored: true, storage: 'os-encrypted' })
    const sealed = fs.readFileSync(path.join(dataDir, 'hf-token.enc'), 'utf8')
    expect(sealed).not.toContain('hf_secret_value_42')
    expect(fs.existsSync(path.join(dataDir, 'hf-token'))).toBe(false)
    if (process.platform !== 'win32') expect(mode(path.join(dataDir, 'hf-token.enc'))).toBe(0o600)
    expect(await store.read()).toBe('hf_secret_value_42')
    expect(await request(host, 'models.set_token', { token: null })).toEqual({ stored: false, storage: 'os-encrypted' })
    await host.shutdown()
  })

  it('says what to do when the operating system has no key store', async () => {
    const dataDir = path.join(workDir, 'no-keyring')
    const refusing: OsCrypt = {
      encrypt: () =>
        Promise.reject({ code: 'invalid_input', message: 'Hugging Face token: the operating system has no key store to encrypt it with' }),
      decrypt: () => Promise.reject(new Error('unused')),
    }
    const host = createHost({ dataDir, resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test', osCrypt: refusing })
    const refused = await dispatch(host, 'models.set_token', { token: 'hf_secret_value_42' })
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.error).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('no key store') })
    expect(fs.existsSync(path.join(dataDir, 'hf-token.enc'))).toBe(false)
    await host.shutdown()
  })
})
