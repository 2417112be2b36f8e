/**
 * What the user chose on the Models page, kept in <dataDir>/models.json (folders added, hub ids
 * offered for download), and the Hugging Face token.
 *
 * The token is kept in <dataDir>/hf-token, readable by this user alone (0600), which is what
 * `serve` uses. The desktop app is meant to keep it encrypted with Electron's safeStorage in the
 * main process; until that bridge exists it uses the same private file (see TokenStore).
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

/** Where the Hugging Face token lives; the desktop app can pass one backed by safeStorage. */
export interface TokenStore {
  readonly storage: TokenStatus['storage']
  read(): string | null
  write(token: string | null): void
}

/** The token in <dataDir>/hf-token, mode 0600. */
export function fileTokenStore(dataDir: string): TokenStore {
  const file = path.join(dataDir, 'hf-token')
  return {
    storage: 'private-file',
    read() {
      try {
        return fs.readFileSync(file, 'utf8').trim() || null
      } catch {
        return null
      }
    },
    write(token) {
      if (token === null) fs.rmSync(file, { force: true })
      else {
        // Written 0600 from the start (and fixed if an older file was open), whatever the umask.
        fs.writeFileSync(file, token, { mode: 0o600 })
        if (process.platform !== 'win32') fs.chmodSync(file, 0o600)
      }
    },
  }
}
