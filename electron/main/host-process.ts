/**
 * Starts the host as an Electron utilityProcess and speaks the wire protocol
 * to it over a MessagePort: requests go in with an id, responses come back
 * with that id, and events are passed on to every window.
 */
import { MessageChannelMain, safeStorage, utilityProcess, type MessagePortMain, type UtilityProcess } from 'electron'
import { appError, type AppError, type WireFromHost, type WireResponse } from '@shared'

export interface HostPaths {
  dataDir: string
  resourcesDir: string
  pythonRuntimeDir: string
  appVersion: string
}

type Pending = (response: WireResponse) => void

/** The main side of the host connection. */
export class HostProcess {
  private readonly child: UtilityProcess
  private readonly port: MessagePortMain
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private exited = false

  constructor(entry: string, paths: HostPaths, onEvent: (event: string, payload: unknown) => void) {
    this.child = utilityProcess.fork(entry, [], { serviceName: 'Tunedeck host', stdio: 'inherit' })
    const { port1, port2 } = new MessageChannelMain()
    this.port = port1
    this.port.on('message', ({ data }) => {
      const message = data as WireFromHost
      if (message.kind === 'event') onEvent(message.event, message.payload)
      else this.pending.get(message.id)?.(message)
    })
    this.port.start()
    this.child.postMessage({ kind: 'init', ...paths }, [port2])
    this.child.on('message', (message: unknown) => {
      const call = message as { kind?: string; id?: number; op?: string; text?: string } | null
      if (call?.kind === 'crypt' && typeof call.id === 'number')
        this.child.postMessage({ kind: 'crypt-result', id: call.id, ...crypt(call.op, call.text ?? '') })
    })
    this.child.on('exit', (code) => {
      this.exited = true
      // A crashed host must not leave the window waiting forever.
      const error = appError('internal', `The Tunedeck host stopped (exit code ${code}). Restart the app.`)
      for (const resolve of this.pending.values()) resolve({ kind: 'response', id: 0, ok: false, error })
      this.pending.clear()
    })
  }

  /** Sends one request; resolves with the host's response, never rejects. */
  request(route: string, input: unknown): Promise<WireResponse> {
    if (this.exited) {
      return Promise.resolve({ kind: 'response', id: 0, ok: false, error: appError('internal', 'The Tunedeck host is not running.') })
    }
    const id = this.nextId++
    return new Promise((resolve) => {
      this.pending.set(id, (response) => {
        this.pending.delete(id)
        resolve(response)
      })
      this.port.postMessage({ kind: 'request', id, route, input })
    })
  }

  /** Asks the host to pause running jobs with a checkpoint, then waits for it to exit. */
  shutdown(timeoutMs: number): Promise<void> {
    if (this.exited) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.child.kill()
        resolve()
      }, timeoutMs)
      this.child.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      this.child.postMessage({ kind: 'shutdown' })
    })
  }
}

/**
 * The host's Hugging Face token through the OS key store (Keychain, DPAPI, the Secret Service).
 * Linux without a keyring would fall back to a fixed key, which is no better than a private
 * file, so that is refused with what to do instead.
 */
function crypt(op: string | undefined, text: string): { ok: true; text: string } | { ok: false; message: string } {
  const linuxPlainText = process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text'
  if (!safeStorage.isEncryptionAvailable() || linuxPlainText) {
    return {
      ok: false,
      message:
        'Hugging Face token: the operating system has no key store to encrypt it with (on Linux, install and unlock a keyring such as GNOME Keyring or KWallet); or set HF_TOKEN in the environment before starting Tunedeck.',
    }
  }
  try {
    if (op === 'encrypt') return { ok: true, text: safeStorage.encryptString(text).toString('base64') }
    return { ok: true, text: safeStorage.decryptString(Buffer.from(text, 'base64')) }
  } catch (error) {
    return {
      ok: false,
      message: `Hugging Face token: the operating system's key store failed (${(error as Error).message}); save the token again.`,
    }
  }
}

/** Turns anything thrown on the main side into the contract's error shape. */
export function toAppError(error: unknown): AppError {
  return appError('internal', error instanceof Error ? error.message : String(error))
}
