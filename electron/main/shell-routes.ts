/**
 * What only the shell can do for the page: native file and folder pickers.
 * Kept off the host contract because headless mode has no native dialogs.
 */
import { BrowserWindow, dialog, ipcMain } from 'electron'
import { isTrustedSender } from './security'

const datasetFilters = [{ name: 'Datasets', extensions: ['json', 'jsonl', 'csv', 'parquet', 'txt'] }]

/** Registers tunedeck:pick-path, answering a chosen path or null. */
export function registerShellRoutes(origin: string): void {
  ipcMain.handle('tunedeck:pick-path', async (event, kind: unknown) => {
    if (!isTrustedSender(event, origin)) return null
    const window = BrowserWindow.fromWebContents(event.sender)
    const options: Electron.OpenDialogOptions =
      kind === 'model-folder'
        ? { title: 'Choose a Hugging Face model folder', properties: ['openDirectory'] }
        : { title: 'Choose a dataset', properties: ['openFile', 'openDirectory'], filters: datasetFilters }
    const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options)
    return result.canceled ? null : (result.filePaths[0] ?? null)
  })
}
