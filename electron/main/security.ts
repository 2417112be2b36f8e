/**
 * The window's security edges: a strict CSP on every response, no
 * permissions, no new windows, no navigation, redirect or frame navigation
 * away from the app, links opened outside only to an allowlist, and IPC only
 * from our own top-level frame. The rules themselves are in policy.ts.
 */
import { session, shell, type BrowserWindow, type IpcMainInvokeEvent } from 'electron'
import { isAllowedExternal, isSameOrigin } from './policy'
import { currentPolicy, isRemoteDownload } from './remote-host'

/**
 * Adds the CSP header to http(s) responses (the dev server's) and refuses
 * every permission. app:// responses carry the CSP themselves (app-protocol.ts):
 * header events do not fire for custom protocols.
 */
export function installContentSecurityPolicy(): void {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [currentPolicy()] } })
  })
  // The renderer needs no camera, microphone, notifications or anything else.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.defaultSession.setPermissionCheckHandler(() => false)
}

/** Refuses new windows and leaving the app; allowed https links open in the user's browser. */
export function lockNavigation(window: BrowserWindow, appOrigin: string): void {
  const contents = window.webContents
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternal(url)) void shell.openExternal(url)
    return { action: 'deny' }
  })
  contents.on('will-navigate', (event) => {
    // A remote host's download link becomes a download; the page stays.
    if (!isSameOrigin(event.url, appOrigin) && !isRemoteDownload(event.url)) event.preventDefault()
  })
  contents.on('will-redirect', (event) => {
    if (!isSameOrigin(event.url, appOrigin)) event.preventDefault()
  })
  contents.on('will-frame-navigate', (event) => {
    // The app has no sub-frames; the top frame stays on our origin.
    if (!event.isMainFrame || !isSameOrigin(event.url, appOrigin)) event.preventDefault()
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
}

/** True only for IPC from the top frame of one of our windows showing exactly our origin. */
export function isTrustedSender(event: IpcMainInvokeEvent, appOrigin: string): boolean {
  const frame = event.senderFrame
  if (!frame || frame.parent !== null) return false
  return isSameOrigin(frame.url, appOrigin)
}
