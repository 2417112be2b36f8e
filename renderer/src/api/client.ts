/**
 * Picks the transport once at start: a WebSocket to the remote Tunedeck the window was told
 * to drive (remote.ts), else the Electron preload's `window.tunedeck` when present, else a
 * WebSocket to the `serve` host that served this page. Everything else in the renderer
 * talks to `client` and never knows which.
 */
import type { TunedeckClient } from '@shared/api'
import { remoteSocketUrl } from '@shared/remote'
import { drivenHost, remoteKeeper, resolveRemote, setDrivenHost, type RemoteStart, type ShellRemoteKeeper } from './remote'
import { createWebSocketClient, socketUrlFor, takeToken, tokenCheckFor, type ConnectionState } from './websocket'

/** Native helpers the desktop app's preload adds; absent in a browser. */
export interface TunedeckShell {
  /** Opens a native picker; resolves with the chosen path or null. */
  pickPath(kind: 'dataset' | 'dataset-folder' | 'model-folder' | 'run-folder'): Promise<string | null>
  /** The absolute path of a file dropped on the window. */
  pathForFile(file: File): string
}

declare global {
  interface Window {
    /** Exposed by electron/preload in the desktop app; absent in a browser. */
    tunedeck?: TunedeckClient
    tunedeckShell?: TunedeckShell
    /** The desktop shell's keeper of the remote host (safeStorage); absent in a browser. */
    tunedeckRemote?: ShellRemoteKeeper
  }
}

/**
 * The desktop app's native helpers, or null in a browser (paths are typed there) and while
 * the window drives a remote host: its paths are that machine's, so files go as uploads.
 */
export function getShell(): TunedeckShell | null {
  if (drivenHost()) return null
  return typeof window !== 'undefined' && window.tunedeckShell ? window.tunedeckShell : null
}

/** The client plus connection notices (the Electron bridge is always open). */
export interface AppClient extends TunedeckClient {
  onConnection(callback: (state: ConnectionState) => void): () => void
}

function pickClient(): AppClient {
  const remote = drivenHost()
  if (remote) {
    return createWebSocketClient({
      url: remoteSocketUrl(remote.origin),
      token: remote.token,
      checkToken: tokenCheckFor(remote.origin, remote.token),
    })
  }
  const bridge = typeof window !== 'undefined' ? window.tunedeck : undefined
  if (bridge) {
    return {
      request: (route, input) => bridge.request(route, input),
      on: (event, callback) => bridge.on(event, callback),
      onConnection: (callback) => {
        callback({ status: 'open', reconnected: false })
        return () => {}
      },
    }
  }
  const token = takeToken(window)
  return createWebSocketClient({ url: socketUrlFor(window.location), token, checkToken: tokenCheckFor(window.location.origin, token) })
}

let instance: AppClient | null = null

/**
 * Decides which host this window drives (remote.ts) before the first request; the page
 * shows `problem` when a kept remote host refused its token or did not answer.
 */
export async function startClient(): Promise<RemoteStart> {
  // Off the address bar first, whichever host this tab goes on to drive.
  if (!window.tunedeck) takeToken(window)
  const start = await resolveRemote(remoteKeeper(), !window.tunedeck)
  setDrivenHost(start.remote)
  return start
}

/** The one client of this window, created on first use. */
export function getClient(): AppClient {
  instance ??= pickClient()
  return instance
}
