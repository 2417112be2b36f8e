/**
 * The desktop window's remote Tunedeck (the start page's "Remote Tunedeck"): main keeps the
 * chosen address and token, the token encrypted with safeStorage (the OS keychain) in
 * <userData>/remote-host.enc (0600). Where the OS offers no keychain the choice is kept in
 * memory until the app quits, never in plain text. The window's CSP names the kept origin, so
 * the page can reach that one host and no other; the renderer loads itself again to switch.
 * Its IPC routes are in remote-routes.ts.
 */
import { safeStorage } from 'electron'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { downloadPath, downloadTicketPath } from '@shared/exports'
import { remoteConnectSources, remoteOrigin, type RemoteHost } from '@shared/remote'
import { policyConnectingTo } from './policy'

let kept: RemoteHost | null = null

/** The CSP for the window now: with the kept remote host's origin when there is one. */
export function currentPolicy(): string {
  return policyConnectingTo(kept ? remoteConnectSources(kept.origin) : '')
}

/**
 * True for a download link of the kept remote host (/download/<ticket>, which its serve sends
 * as an attachment): the window lets that navigation through, and Chromium saves it as a
 * download instead of leaving the page.
 */
export function isRemoteDownload(url: string): boolean {
  if (!kept) return false
  try {
    const parsed = new URL(url)
    return parsed.origin === kept.origin && parsed.pathname.startsWith(downloadPath) && parsed.pathname !== downloadTicketPath
  } catch {
    return false
  }
}

/** A remote host as the page sent it, or null when it is not one (only an http(s) origin and a token). */
function checked(value: unknown): RemoteHost | null {
  const host = value as Partial<RemoteHost> | null
  if (!host || typeof host.token !== 'string' || !/^[A-Za-z0-9._~-]{1,512}$/.test(host.token)) return null
  const origin = remoteOrigin(typeof host.origin === 'string' ? host.origin : null)
  return origin ? { origin, token: host.token } : null
}

function read(file: string): RemoteHost | null {
  try {
    return checked(JSON.parse(safeStorage.decryptString(readFileSync(file))))
  } catch {
    return null // No file, or one this user's keychain cannot open: drive this machine.
  }
}

/**
 * The kept remote host's store, for the IPC routes (remote-routes.ts): `load` reads the
 * encrypted file once, `save` and `clear` change what the window's CSP names.
 */
export function remoteHostStore(userData: string) {
  const file = join(userData, 'remote-host.enc')
  return {
    load(): void {
      if (safeStorage.isEncryptionAvailable()) kept = read(file)
    },
    current: (): RemoteHost | null => kept,
    remembers: (): boolean => safeStorage.isEncryptionAvailable(),
    /** Keeps `value` when it is a remote host; false when it is not. */
    save(value: unknown): boolean {
      const host = checked(value)
      if (!host) return false
      kept = host
      if (safeStorage.isEncryptionAvailable()) writeFileSync(file, safeStorage.encryptString(JSON.stringify(host)), { mode: 0o600 })
      return true
    },
    clear(): void {
      kept = null
      rmSync(file, { force: true })
    },
  }
}
