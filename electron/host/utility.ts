/**
 * The host inside the Electron app: main starts this file (out/main/host.js)
 * with utilityProcess.fork and talks to it over a MessagePort. It must not
 * import electron; the few pieces of Electron's API it touches are declared
 * below.
 *
 * Protocol with main, on process.parentPort:
 *   main -> host  {kind:'init', dataDir, resourcesDir, pythonRuntimeDir, appVersion, watchdogSeconds?}, with one
 *                 MessagePort in ports[0]; WireRequests then arrive on that port, and
 *                 WireResponses and WireEvents leave on it.
 *   host -> main  {kind:'ready'} once the host has started, or {kind:'init-failed', message}.
 *   main -> host  {kind:'shutdown'}: running jobs pause with a checkpoint, then
 *   host -> main  {kind:'shutdown-done'} and the process exits.
 *   host -> main  {kind:'crypt', id, op:'encrypt'|'decrypt', text}: Electron's safeStorage for the
 *   main -> host  {kind:'crypt-result', id, ok, text?, message?}   Hugging Face token (main only).
 */
import type { WireEvent, WireRequest, WireResponse } from '@shared/api'
import { homedir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { appError } from '@shared/errors'
import { createHost, type Host } from './host'
import type { OsCrypt } from './models/settings'
import { waitForOrphanedTrainers } from './orphans'
import { usePrivateUmask } from './private'
import { removeServeFile, writeServeFile } from './transport/serveFile'
import { startServer, type RunningServer } from './transport/server'

/** The part of Electron's MessagePortMain the host uses. */
interface PortMain {
  on(event: 'message', listener: (event: { data: unknown }) => void): void
  on(event: 'close', listener: () => void): void
  postMessage(message: unknown): void
  start(): void
}

/** The part of Electron's utility-process parentPort the host uses. */
interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown; ports: PortMain[] }) => void): void
  postMessage(message: unknown): void
}

/** What main sends first. */
interface InitMessage {
  kind: 'init'
  dataDir: string
  resourcesDir: string
  pythonRuntimeDir: string
  appVersion: string
  /** Seconds without a trainer heartbeat before a job counts as hung; 120 when absent. */
  watchdogSeconds?: number
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort
if (!parentPort) {
  process.stderr.write('out/main/host.js runs inside the Tunedeck app; for a headless host run out/main/serve.js.\n')
  process.exit(2)
}

usePrivateUmask()
let host: Host | null = null
/** The loopback server the `tunedeck` command line talks to while the app runs. */
let commandLineServer: { server: RunningServer; dataDir: string } | null = null

/** safeStorage runs in main; each call is a message there and its answer back. */
const cryptCalls = new Map<number, { resolve: (text: string) => void; reject: (error: unknown) => void }>()
let nextCryptId = 1
function mainCrypt(op: 'encrypt' | 'decrypt', text: string): Promise<string> {
  const id = nextCryptId++
  return new Promise((resolve, reject) => {
    cryptCalls.set(id, { resolve, reject })
    parentPort?.postMessage({ kind: 'crypt', id, op, text })
  })
}
const osCrypt: OsCrypt = { encrypt: (text) => mainCrypt('encrypt', text), decrypt: (text) => mainCrypt('decrypt', text) }

function isRequest(data: unknown): data is WireRequest {
  const value = data as Partial<WireRequest> | null
  return value?.kind === 'request' && typeof value.id === 'number' && typeof value.route === 'string'
}

function serve(port: PortMain, running: Host): void {
  port.on('message', ({ data }) => {
    if (!isRequest(data)) return
    // dispatch refuses an unknown route first and never rejects; a reply that cannot be posted is answered as internal.
    void running.dispatch(data.route, data.input).then((result) => {
      const response: WireResponse = result.ok
        ? { kind: 'response', id: data.id, ok: true, output: result.output }
        : { kind: 'response', id: data.id, ok: false, error: result.error }
      try {
        port.postMessage(response)
      } catch (error) {
        port.postMessage({
          kind: 'response',
          id: data.id,
          ok: false,
          error: appError('internal', `The answer to ${data.route} could not be sent: ${(error as Error).message}`),
        })
      }
    })
  })
  running.subscribe((event, payload) => {
    const message: WireEvent = { kind: 'event', event, payload }
    port.postMessage(message)
  })
  port.start()
}

/**
 * The watchdog from the init message, else from TUNEDECK_WATCHDOG_SECONDS,
 * else undefined (the host's 120 s). A value that is not a positive number is
 * ignored with a warning rather than failing the app's start.
 */
function watchdogSetting(value: unknown): number | undefined {
  const candidate = value ?? process.env.TUNEDECK_WATCHDOG_SECONDS?.trim()
  if (candidate === undefined || candidate === null || candidate === '') return undefined
  const seconds = Number(candidate)
  if (Number.isFinite(seconds) && seconds >= 1) return seconds
  process.stderr.write(`Ignoring watchdog setting ${JSON.stringify(candidate)}: it must be a number of seconds, at least 1; using 120.\n`)
  return undefined
}

async function init(message: InitMessage, port: PortMain | undefined): Promise<void> {
  if (host) return
  if (!port) throw new Error('The init message carried no MessagePort.')
  const created = createHost({
    dataDir: message.dataDir,
    resourcesDir: message.resourcesDir,
    pythonRuntimeDir: message.pythonRuntimeDir,
    appVersion: message.appVersion,
    watchdogSeconds: watchdogSetting(message.watchdogSeconds),
    osCrypt,
  })
  host = created
  // Requests that arrive while the host recovers old jobs wait inside dispatch.
  // Requests wait in the port until serve() starts it: trainers of a host that died save their pause checkpoints first.
  await waitForOrphanedTrainers(message.dataDir)
  serve(port, created)
  await created.start()
  await listenForCommandLine(created, message.dataDir)
  parentPort?.postMessage({ kind: 'ready' })
}

/**
 * The app's host answers the `tunedeck` command line as serve does: on 127.0.0.1, a random port
 * and token, the same path roots (home and the data folder), found through <data>/serve.json.
 * A failure here leaves the app working without the command line.
 */
async function listenForCommandLine(running: Host, dataDir: string): Promise<void> {
  try {
    const server = await startServer(running, {
      port: 0,
      rendererDir: fileURLToPath(new URL('../renderer', import.meta.url)),
      roots: [homedir(), dataDir],
    })
    writeServeFile(dataDir, { port: server.port, token: server.token, url: server.url })
    commandLineServer = { server, dataDir }
  } catch (error) {
    process.stderr.write(`The tunedeck command line cannot reach this app: ${(error as Error).message}\n`)
  }
}

async function shutdown(): Promise<void> {
  if (commandLineServer) {
    removeServeFile(commandLineServer.dataDir)
    await commandLineServer.server.close().catch(() => undefined)
  }
  try {
    await host?.shutdown()
  } catch (error) {
    process.stderr.write(`Host shutdown failed: ${(error as Error).stack}\n`)
  }
  parentPort?.postMessage({ kind: 'shutdown-done' })
  // Give the message a moment to leave before the process goes.
  setTimeout(() => process.exit(0), 50)
}

parentPort.on('message', ({ data, ports }) => {
  const message = data as { kind?: string } | null
  if (message?.kind === 'init') {
    init(message as InitMessage, ports[0]).catch((error: Error) => {
      process.stderr.write(`Host start failed: ${error.stack}\n`)
      parentPort?.postMessage({ kind: 'init-failed', message: appError('internal', error.message).message })
    })
  } else if (message?.kind === 'shutdown') {
    void shutdown()
  } else if (message?.kind === 'crypt-result') {
    const result = message as { id: number; ok: boolean; text?: string; message?: string }
    const call = cryptCalls.get(result.id)
    cryptCalls.delete(result.id)
    if (result.ok) call?.resolve(result.text ?? '')
    else call?.reject(appError('invalid_input', result.message ?? 'The operating system could not encrypt the token.'))
  }
})
