/**
 * serve's command line: flags, their defaults, and the data folder Electron
 * would use, so the headless host and the app share one data directory.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { defaultDataFolder } from '@shared/dataFolder'

/** Everything serve needs, resolved to absolute paths. */
export interface ServeSettings {
  port: number
  bindHost: string
  dataDir: string
  resourcesDir: string
  pythonRuntimeDir: string
  rendererDir: string
  /** Seconds without a trainer event (heartbeats included) before a job counts as hung. */
  watchdogSeconds: number
  /**
   * The folders a client may name as a dataset or model: every --allow-path,
   * else the home folder; the data folder is always among them.
   */
  allowedRoots: string[]
  /** The largest dataset upload, in bytes (--max-upload-mb). */
  maxUploadBytes: number
  /** datasets.download may fetch from loopback and private addresses (--allow-private-downloads). */
  allowPrivateDownloads: boolean
  /** --new-token: replace the token kept in the data folder (open tabs must use the new address). */
  newToken: boolean
}

export const usage = `Usage: node out/main/serve.js [options]

  --port N                 port to listen on (default 5780; 0 picks a free one)
  --host ADDR              127.0.0.1 (default); another address (0.0.0.0: every one) lets other machines
                           in, with the token as the only guard: an SSH tunnel to 127.0.0.1 is safer
  --data-dir DIR           data folder (default TUNEDECK_DATA_DIR, else the app's own folder)
  --resources-dir DIR      packaged resources (default <repo>/resources)
  --python-runtime-dir DIR the trainer package (default <repo>/python-runtime)
  --renderer-dir DIR       the built renderer (default <repo>/out/renderer)
  --watchdog-seconds N     seconds without a trainer heartbeat before a job counts as hung
                           (default TUNEDECK_WATCHDOG_SECONDS, else 120)
  --allow-path DIR         a folder whose datasets and models clients may use; repeat for more
                           (default: your home folder; the data folder is always allowed)
  --max-upload-mb N        the largest dataset a browser may upload, in MiB (default 4096)
  --allow-private-downloads
                           let dataset downloads reach this machine and private networks
                           (refused by default: a client could read local services through them)
  --new-token              replace the token kept in the data folder (serve-token); tabs opened
                           with the old address must open the new one
  --help                   print this text
`

/** The folder Electron's app.getPath('userData') gives an app named Tunedeck (TUNEDECK_DATA_DIR wins). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const folder = defaultDataFolder(env, platform, homedir(), join)
  return env.TUNEDECK_DATA_DIR ? resolve(folder) : folder
}

/** A mistake on the command line; serve prints it with the usage and exits 2. */
export class UsageError extends Error {}

const valueFlags = [
  '--allow-path',
  '--port',
  '--host',
  '--data-dir',
  '--resources-dir',
  '--python-runtime-dir',
  '--renderer-dir',
  '--watchdog-seconds',
  '--max-upload-mb',
] as const

/** The watchdog's default; the trainer sends a heartbeat at least every 10 s. */
export const defaultWatchdogSeconds = 120

/**
 * Reads a watchdog setting: a whole number of seconds from 1 to one day.
 * The trainer sends a heartbeat every 10 s, so values near that only suit
 * tests with scripted trainers.
 */
export function parseWatchdogSeconds(text: string, source: string): number {
  const seconds = Number(text.trim())
  if (!/^\d+$/.test(text.trim()) || seconds < 1 || seconds > 86_400) {
    throw new UsageError(
      `${source} ${text}: give a whole number of seconds from 1 to 86400 (the trainer sends a heartbeat every 10 s, so keep it well above 10).`,
    )
  }
  return seconds
}

/**
 * Parses serve's flags (`--flag value` or `--flag=value`); `repoDir` is the
 * checkout or install folder the default paths hang off. Returns null for --help.
 */
export function parseServeArgs(argv: string[], repoDir: string, env: NodeJS.ProcessEnv = process.env): ServeSettings | null {
  const values = new Map<string, string>()
  const allowed: string[] = []
  let allowPrivateDownloads = false
  let newToken = false
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? ''
    if (arg === '--help' || arg === '-h') return null
    if (arg === '--new-token') {
      newToken = true
      continue
    }
    if (arg === '--allow-private-downloads') {
      allowPrivateDownloads = true
      continue
    }
    const [flag = '', inline] =
      arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg]
    if (!(valueFlags as readonly string[]).includes(flag)) throw new UsageError(`Unknown option ${arg}.`)
    const value = inline ?? argv[(index += 1)]
    if (value === undefined || value === '') throw new UsageError(`${flag} needs a value.`)
    if (flag === '--allow-path') allowed.push(resolve(value))
    else values.set(flag, value)
  }
  const portText = values.get('--port') ?? '5780'
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`--port ${portText}: give a whole number from 0 to 65535.`)
  const bindHost = values.get('--host') ?? '127.0.0.1'
  if (bindHost.trim() === '' || /\s/.test(bindHost))
    throw new UsageError(`--host ${bindHost}: give an address such as 127.0.0.1 or 0.0.0.0.`)
  const path = (flag: string, fallback: string): string => resolve(values.get(flag) ?? fallback)
  const watchdogFlag = values.get('--watchdog-seconds')
  const watchdogEnv = env.TUNEDECK_WATCHDOG_SECONDS?.trim()
  const watchdogSeconds =
    watchdogFlag !== undefined
      ? parseWatchdogSeconds(watchdogFlag, '--watchdog-seconds')
      : watchdogEnv
        ? parseWatchdogSeconds(watchdogEnv, 'TUNEDECK_WATCHDOG_SECONDS')
        : defaultWatchdogSeconds
  const uploadText = values.get('--max-upload-mb') ?? '4096'
  if (!/^\d+$/.test(uploadText) || Number(uploadText) < 1)
    throw new UsageError(`--max-upload-mb ${uploadText}: give a whole number of MiB, at least 1.`)
  const dataDir = values.has('--data-dir') ? path('--data-dir', '') : defaultDataDir(env)
  return {
    port,
    bindHost: bindHost === 'localhost' ? '127.0.0.1' : bindHost,
    dataDir,
    resourcesDir: path('--resources-dir', join(repoDir, 'resources')),
    pythonRuntimeDir: path('--python-runtime-dir', join(repoDir, 'python-runtime')),
    rendererDir: path('--renderer-dir', join(repoDir, 'out', 'renderer')),
    watchdogSeconds,
    maxUploadBytes: Number(uploadText) * 1024 * 1024,
    allowPrivateDownloads,
    allowedRoots: [...(allowed.length > 0 ? allowed : [homedir()]), dataDir],
    newToken,
  }
}
