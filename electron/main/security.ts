/**
 * The window's security edges: a strict CSP on every response, no new
 * windows, no navigation away from the app, and IPC only from our own
 * top-level frame.
 */
import { session, shell, type BrowserWindow, type IpcMainInvokeEvent } from 'electron'

/** Same policy as renderer/index.html's meta tag, sent as a header too. */
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

/** Adds the CSP header to every response the default session receives. */
export function installContentSecurityPolicy(): void {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [contentSecurityPolicy] } })
  })
  // The renderer needs no camera, microphone, notifications or anything else.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
}

/** Refuses new windows and navigation; https links open in the user's browser. */
export function lockNavigation(window: BrowserWindow, appOrigin: string): void {
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url)
    return { action: 'deny' }
  })
  window.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(appOrigin)) event.preventDefault()
  })
  window.webContents.on('will-attach-webview', (event) => event.preventDefault())
}

/** True only for IPC from the top frame of one of our windows showing our origin. */
export function isTrustedSender(event: IpcMainInvokeEvent, appOrigin: string): boolean {
  const frame = event.senderFrame
  if (!frame || frame.parent !== null) return false
  return frame.url.startsWith(appOrigin)
}
