/**
 * The desktop window's security rules as plain functions and data, apart
 * from Electron so that tests can check them without running it: the CSP,
 * the window's webPreferences, exact origin checks, which links may open in
 * the user's browser, and which page address the window may load.
 */

/** The app's own origin: the renderer is served from app://tunedeck/. */
export const appOrigin = 'app://tunedeck'

/**
 * The policy of every page the window shows, sent by the app:// protocol
 * with each response (header events do not fire for custom protocols). The
 * page talks to the host through the preload's IPC only, so it connects
 * nowhere but its own origin.
 */
export const contentSecurityPolicy = policyConnectingTo('')

/**
 * The same policy for a window that drives a remote Tunedeck (remote-host.ts): it may also
 * connect to that one origin's HTTP and WebSocket, named by `sources` (remoteConnectSources).
 */
export function policyConnectingTo(sources: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    sources ? `connect-src 'self' ${sources}` : "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** The window's webPreferences: an isolated, sandboxed page without Node. */
export function windowWebPreferences(preload: string): {
  preload: string
  contextIsolation: true
  sandbox: true
  nodeIntegration: false
  nodeIntegrationInWorker: false
  nodeIntegrationInSubFrames: false
  webSecurity: true
  allowRunningInsecureContent: false
  experimentalFeatures: false
  webviewTag: false
  navigateOnDragDrop: false
  spellcheck: false
  disableBlinkFeatures: string
} {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    // A file dropped on the window gives its path to the page; it must not replace the page.
    navigateOnDragDrop: false,
    spellcheck: false,
    // A middle click would otherwise open a link in a new window (refused anyway by the open handler).
    disableBlinkFeatures: 'Auxclick',
  }
}

/**
 * The origin of `url` ("scheme://host[:port]"), or null when it has none.
 * Node's URL gives "null" as the origin of custom schemes such as app://,
 * so the origin is built from the parts.
 */
export function originOf(url: string): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (!parsed.host) return null
  return `${parsed.protocol}//${parsed.host}`
}

/** True when `url` is on exactly `origin` (no prefix match: app://tunedeck.evil is another origin). */
export function isSameOrigin(url: string, origin: string): boolean {
  return originOf(url) === origin
}

/** Hosts whose https links the app opens in the user's browser: documentation and the Hugging Face Hub. */
export const externalHosts: ReadonlySet<string> = new Set([
  'huggingface.co',
  'hf.co',
  'docs.nvidia.com',
  'pytorch.org',
  'docs.pytorch.org',
  'github.com',
])

/** True for an https link, without credentials or an odd port, to an allowed host. */
export function isAllowedExternal(url: string): boolean {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  return (
    parsed.protocol === 'https:' &&
    parsed.username === '' &&
    parsed.password === '' &&
    parsed.port === '' &&
    externalHosts.has(parsed.hostname)
  )
}

/**
 * The address the window loads: the dev server's (ELECTRON_RENDERER_URL)
 * only in development, and only on the loopback interface; a packaged app
 * always loads its own files.
 */
export function rendererUrl(isPackaged: boolean, devServerUrl: string | undefined): string {
  if (!isPackaged && devServerUrl) {
    const origin = originOf(devServerUrl)
    if (origin && /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?$/.test(origin)) return devServerUrl
  }
  return `${appOrigin}/index.html`
}
