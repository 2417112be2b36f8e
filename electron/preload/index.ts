/**
 * The bridge: a generic forwarder exposing `window.tunedeck` with the
 * TunedeckClient shape (request + on) and `window.tunedeckShell` for native
 * pickers and dropped-file paths, and `window.tunedeckRemote` for the remote host main keeps. ipcRenderer itself is never exposed, and
 * adding a route needs no change here. Sandboxed preloads can only require
 * electron, so this file imports types alone from the contract.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron'
import type { AppError, EventName, EventPayload, RemoteHost, RouteInput, RouteName, RouteOutput, TunedeckClient } from '@shared'

type Reply = { ok: true; output: unknown } | { ok: false; error: AppError }

const client: TunedeckClient = {
  async request<R extends RouteName>(route: R, input: RouteInput<R>): Promise<RouteOutput<R>> {
    const reply = (await ipcRenderer.invoke('tunedeck:request', route, input)) as Reply
    if (!reply.ok) throw reply.error
    return reply.output as RouteOutput<R>
  },
  on<E extends EventName>(event: E, callback: (payload: EventPayload<E>) => void): () => void {
    const listener = (_ipcEvent: IpcRendererEvent, name: string, payload: unknown): void => {
      if (name === event) callback(payload as EventPayload<E>)
    }
    ipcRenderer.on('tunedeck:event', listener)
    return () => {
      ipcRenderer.removeListener('tunedeck:event', listener)
    }
  },
}

contextBridge.exposeInMainWorld('tunedeck', client)
contextBridge.exposeInMainWorld('tunedeckShell', {
  /** Opens a native picker; resolves with the chosen path or null. */
  pickPath: (kind: 'dataset' | 'dataset-folder' | 'model-folder' | 'run-folder'): Promise<string | null> =>
    ipcRenderer.invoke('tunedeck:pick-path', kind),
  /** The absolute path of a file dropped on the window. */
  pathForFile: (file: File): string => webUtils.getPathForFile(file),
})
contextBridge.exposeInMainWorld('tunedeckRemote', {
  /** The remote Tunedeck this window drives (address and token), or null for this machine. */
  load: (): Promise<RemoteHost | null> => ipcRenderer.invoke('tunedeck:remote-load'),
  /** Keeps it (the token encrypted by safeStorage); the page then loads itself again. */
  save: async (host: RemoteHost): Promise<void> => {
    if (!(await ipcRenderer.invoke('tunedeck:remote-save', host)))
      throw new Error('That address or token cannot be kept: use the address serve printed.')
  },
  clear: async (): Promise<void> => {
    await ipcRenderer.invoke('tunedeck:remote-clear')
  },
  /** False where the OS has no keychain: the token is then kept until the app quits. */
  remembers: (): Promise<boolean> => ipcRenderer.invoke('tunedeck:remote-remembers'),
})
