/**
 * serve's token, kept in the data folder (serve-token, readable by the user alone) so that the
 * next serve on the same folder uses it again: a tab left open across a restart reconnects by
 * itself. `--new-token` replaces it; tabs with the old one are then told their address changed.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { newToken, pickToken, TokenError } from './auth'

/** The file in the data folder that holds the token. */
export const tokenFileName = 'serve-token'

/**
 * The token the serve on `dataDir` uses: the one kept there, or a new one (kept there, 0600)
 * when there is none, it is not a usable token, or `renew` asks for one.
 */
export function keptToken(dataDir: string, renew: boolean): string {
  const file = join(dataDir, tokenFileName)
  if (!renew) {
    try {
      const kept = readFileSync(file, 'utf8').trim()
      if (kept !== '') return pickToken(kept, file)
    } catch (error) {
      // No file yet, or one that is empty or damaged: a new token replaces it.
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT'
      if (!missing && !(error instanceof TokenError)) throw error
    }
  }
  const token = newToken()
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, `${token}\n`, { mode: 0o600 })
  renameSync(temporary, file)
  return token
}
