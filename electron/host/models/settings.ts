/**
 * What the user chose on the Models page, kept in <dataDir>/models.json (folders added, hub ids
 * offered for download), and the Hugging Face token.
 *
 * The token is kept in <dataDir>/hf-token, readable by this user alone (0600), in `serve`; the
 * desktop app keeps it in <dataDir>/hf-token.enc, encrypted by Electron's safeStorage, which the
 * main process runs for the host (osTokenStore).
 */
import fs from 'node:fs'
import path from 'node:path'
import { defaultPopularModels, type TokenStatus } from '@shared/models'

/** The user's choices on the Models page. */
export interface ModelSettings {
  folders: string[]
  popular: string[]
}

/** Reads models.json; a missing or unreadable file gives the defaults. */
export function readModelSettings(dataDir: string): ModelSettings {
  try {
    const value = JSON.parse(fs.readFileSync(path.join(dataDir, 'models.json'), 'utf8')) as Partial<ModelSettings>
    return {
      folders: Array.isArray(value.folders) ? value.folders.filter((item) => typeof item === 'string') : [],
      popular: Array.isArray(value.popular) ? value.popular.filter((item) => typeof item === 'string') : [...defaultPopularModels],
    }
  } catch {
    return { folders: [], popular: [...defaultPopularModels] }
  }
}

/** Writes models.json whole (a temporary file renamed into place). */
export function writeModelSettings(dataDir: string, settings: ModelSettings): void {
  const file = path.join(dataDir, 'models.json')
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(settings, null, 2))
  fs.renameSync(`${file}.tmp`, file)
}

/** Where the Hugging Face token lives: a private file (serve), or encrypted by the OS (the desktop app). */
export interface TokenStore {
  readonly storage: TokenStatus['storage']
  read(): Promise<string | null>
  write(token: string | null): Promise<void>
}

/** The token in <dataDir>/hf-token, mode 0600. */
export function fileTokenStore(dataDir: string): TokenStore {
  const file = path.join(dataDir, 'hf-token')
  return {
    storage: 'private-file',
    async read() {
      try {
        return fs.readFileSync(file, 'utf8').trim() || null
      } catch {
        return null
      }
    },
    async write(token) {
      if (token === null) fs.rmSync(file, { force: true })
      else writePrivate(file, token)
    },
  }
}

/** Encrypts and decrypts with the operating system's key store (Electron's safeStorage, in main). */
export interface OsCrypt {
  /** Base64 of the encrypted text; rejects when the OS has no key store to use. */
  encrypt(text: string): Promise<string>
  decrypt(base64: string): Promise<string>
}

/**
 * The token encrypted by the operating system, in <dataDir>/hf-token.enc (0600 as well). A token
 * an older version left in the plain file moves into the encrypted one at the first write.
 */
export function osTokenStore(dataDir: string, crypt: OsCrypt): TokenStore {
  const file = path.join(dataDir, 'hf-token.enc')
  const plain = fileTokenStore(dataDir)
  return {
    storage: 'os-encrypted',
    async read() {
      let sealed: string
      try {
        sealed = fs.readFileSync(file, 'utf8').trim()
      } catch {
        return await plain.read()
      }
      return (await crypt.decrypt(sealed)) || null
    },
    async write(token) {
      if (token === null) fs.rmSync(file, { force: true })
      else writePrivate(file, await crypt.encrypt(token))
      await plain.write(null)
    },
  }
}

// Written 0600 from the start (and fixed if an older file was open), whatever the umask.
function writePrivate(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o600 })
  if (process.platform !== 'win32') fs.chmodSync(file, 0o600)
}
