/**
 * The IPC routes of the window's remote host (remote-host.ts keeps it): load, save, clear and
 * whether the OS keychain remembers it, answered to the window's own top frame only.
 */
import { ipcMain } from 'electron'
import { remoteHostStore } from './remote-host'
import { isTrustedSender } from './security'

/** Registers tunedeck:remote-load, -save, -clear and -remembers. */
export function registerRemoteHostRoutes(appOrigin: string, userData: string): void {
  const store = remoteHostStore(userData)
  store.load()
  ipcMain.handle('tunedeck:remote-load', (event) => (isTrustedSender(event, appOrigin) ? store.current() : null))
  ipcMain.handle('tunedeck:remote-remembers', () => store.remembers())
  ipcMain.handle('tunedeck:remote-save', (event, value: unknown) => isTrustedSender(event, appOrigin) && store.save(value))
  ipcMain.handle('tunedeck:remote-clear', (event) => {
    if (!isTrustedSender(event, appOrigin)) return false
    store.clear()
    return true
  })
}
