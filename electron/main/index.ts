/**
 * The Electron shell: window, menus, dialogs and the app:// protocol. All
 * real work happens in the host (a utilityProcess); this file only forwards
 * requests from our own window to it and events back.
 */
import { app, BrowserWindow, dialog, ipcMain } from 'electron'
import { join } from 'node:path'
import { appError, isRouteName, liveStatuses, unknownRouteError, type Job } from '@shared'
import { appOrigin, registerAppScheme, serveRenderer } from './app-protocol'
import { HostProcess, toAppError } from './host-process'
import { originOf, rendererUrl, windowWebPreferences } from './policy'
import { installContentSecurityPolicy, isTrustedSender, lockNavigation } from './security'
import { registerShellRoutes } from './shell-routes'
import { registerRemoteHostRoutes } from './remote-routes'

registerAppScheme()

// A packaged app ignores ELECTRON_RENDERER_URL: no environment variable may point it at another page.
const pageUrl = rendererUrl(app.isPackaged, process.env['ELECTRON_RENDERER_URL'])
const origin = originOf(pageUrl) ?? appOrigin
let host: HostProcess | undefined
let quitting = false

/** Packaged builds carry resources/ and python-runtime/ beside the app; dev runs from the repo. */
function bundledDir(name: string): string {
  return app.isPackaged ? join(process.resourcesPath, name) : join(app.getAppPath(), name)
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 960,
    minHeight: 600,
    backgroundColor: '#111318',
    title: 'Tunedeck',
    webPreferences: windowWebPreferences(join(__dirname, '../preload/index.cjs')),
  })
  lockNavigation(window, origin)
  void window.loadURL(pageUrl)
  return window
}

function broadcast(event: string, payload: unknown): void {
  for (const window of BrowserWindow.getAllWindows()) window.webContents.send('tunedeck:event', event, payload)
}

ipcMain.handle('tunedeck:request', async (event, route: unknown, input: unknown) => {
  if (!isTrustedSender(event, origin)) return { ok: false, error: appError('unauthorized', 'Request from an unknown frame.') }
  if (!isRouteName(route)) return { ok: false, error: unknownRouteError(route) }
  if (!host) return { ok: false, error: appError('internal', 'The Tunedeck host is still starting.') }
  try {
    const response = await host.request(route, input)
    return response.ok ? { ok: true, output: response.output } : { ok: false, error: response.error }
  } catch (error) {
    return { ok: false, error: toAppError(error) }
  }
})

/** Quitting with live jobs asks first, then lets the host pause them with a checkpoint. */
async function confirmQuit(): Promise<boolean> {
  if (!host) return true
  const response = await host.request('jobs.list', {})
  const live = response.ok ? (response.output as Job[]).filter((job) => liveStatuses.includes(job.status)) : []
  if (live.length === 0) return true
  const { response: choice } = await dialog.showMessageBox({
    type: 'question',
    buttons: ['Pause and quit', 'Keep training'],
    defaultId: 1,
    cancelId: 1,
    message: `${live.length} job(s) are training.`,
    detail: 'Quitting pauses them with a checkpoint; resume them later without losing a step.',
  })
  return choice === 0
}

app.on('before-quit', (event) => {
  if (quitting) return
  event.preventDefault()
  void (async () => {
    if (!(await confirmQuit())) return
    quitting = true
    await host?.shutdown(90_000)
    app.quit()
  })()
})

app.whenReady().then(() => {
  installContentSecurityPolicy()
  serveRenderer(join(__dirname, '../renderer'))
  registerShellRoutes(origin)
  registerRemoteHostRoutes(origin, app.getPath('userData'))
  host = new HostProcess(
    join(__dirname, 'host.js'),
    {
      dataDir: app.getPath('userData'),
      resourcesDir: bundledDir('resources'),
      pythonRuntimeDir: bundledDir('python-runtime'),
      appVersion: app.getVersion(),
    },
    broadcast,
  )
  createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
