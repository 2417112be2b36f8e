/**
 * What only the shell can do for the page: native file and folder pickers.
 * Kept off the host contract because headless mode has no native dialogs.
 */
import { BrowserWindow, dialog, ipcMain } from 'electron'
import { dialogOptions } from './dialogs'
import { isTrustedSender } from './security'

/** Registers tunedeck:pick-path, answering a chosen path or null. */
export function registerShellRoutes(origin: string): void {
  ipcMain.handle('tunedeck:pick-path', async (event, kind: unknown) => {
    if (!isTrustedSender(event, origin)) return null
    const window = BrowserWindow.fromWebContents(event.sender)
    const options = dialogOptions(kind)
    const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options)
    return result.canceled ? null : (result.filePaths[0] ?? null)
  })
}
