/**
 * Headless Tunedeck: the host plus the renderer over HTTP and WebSocket on
 * 127.0.0.1 (--host another address, with a warning), for machines without a display and for tests.
 *
 *   npm run serve                      (builds, then runs this)
 *   node out/main/serve.js --port 0 --data-dir /tmp/td
 *
 * Prints one line on stdout, `Tunedeck is serving at http://127.0.0.1:PORT/#token=TOKEN`;
 * everything else goes to stderr, and writes <data>/serve.json (port and token, 0600) for the
 * `tunedeck` command line, removed again on exit. The token is kept in <data>/serve-token (0600)
 * and used again by the next serve on that folder, so open tabs reconnect; --new-token replaces it.
 * SIGTERM or SIGINT pauses running jobs with
 * a checkpoint and exits 0; a second signal exits at once.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHost } from './host'
import { waitForOrphanedTrainers } from './orphans'
import { usePrivateUmask } from './private'
import { isLoopback, TokenError } from './transport/auth'
import { defaultDataDir, parseServeArgs, usage, UsageError } from './transport/cli'
import { removeServeFile, writeServeFile } from './transport/serveFile'
import { keptToken } from './transport/serveToken'
import { startServer } from './transport/server'

// out/main/serve.js and electron/host/serve.ts both sit two folders below the repo.
const repoDir = fileURLToPath(new URL('../../', import.meta.url))

function appVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(repoDir, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
}

/** `text` as one word for a POSIX shell: as is when it is plain, else in single quotes. */
function shellQuoted(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`
}

/** What serve says when it listens beyond this machine (--host): the token is all that guards it. */
function exposedWarning(bindHost: string, port: number): string {
  return [
    `Warning: listening on ${bindHost}:${port}, beyond this machine. The token is the only guard, and it crosses the network`,
    'in clear text (plain HTTP): anyone who sees it can train, read and delete here. Safer: keep the default 127.0.0.1',
    'and reach it through an SSH tunnel from your computer:',
    `  ssh -N -L ${port}:127.0.0.1:${port} you@this-machine`,
    `  tunedeck --url 'http://127.0.0.1:${port}/#token=<the token>' jobs     (or open that address in a browser)`,
    '',
  ].join('\n')
}

async function main(): Promise<void> {
  let settings
  try {
    settings = parseServeArgs(process.argv.slice(2), repoDir)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`${error.message}\n\n${usage}`)
    process.exit(2)
  }
  if (!settings) {
    process.stdout.write(usage)
    return
  }
  if (!existsSync(join(settings.rendererDir, 'index.html'))) {
    process.stderr.write(`The renderer is not built (${settings.rendererDir} has no index.html): run npm run serve, which builds it.\n`)
  }
  usePrivateUmask()
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 })
  // The token the last serve on this folder used, so open tabs reconnect; TUNEDECK_TOKEN still wins.
  const token = process.env.TUNEDECK_TOKEN ? undefined : keptToken(settings.dataDir, settings.newToken)
  // Before anything reads the store: trainers of a host that died are saving their pause checkpoints.
  await waitForOrphanedTrainers(settings.dataDir)
  const host = createHost({
    dataDir: settings.dataDir,
    resourcesDir: settings.resourcesDir,
    pythonRuntimeDir: settings.pythonRuntimeDir,
    appVersion: appVersion(),
    watchdogSeconds: settings.watchdogSeconds,
    allowPrivateDownloads: settings.allowPrivateDownloads,
  })
  // Listen first: a port in use must fail before any trainer starts. Requests that
  // arrive while the host recovers earlier jobs wait inside dispatch.
  const options = {
    port: settings.port,
    bindHost: settings.bindHost,
    rendererDir: settings.rendererDir,
    roots: settings.allowedRoots,
    maxUploadBytes: settings.maxUploadBytes,
    token,
    stagingDir: join(settings.dataDir, 'uploads'),
  }
  const server = await startServer(host, options).catch((error: NodeJS.ErrnoException) => {
    if (error instanceof TokenError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(2)
    }
    if (error.code !== 'EADDRINUSE') throw error
    process.stderr.write(`Port ${settings.port} is in use (another Tunedeck?): pass --port N, or --port 0 for any free port.\n`)
    process.exit(1)
  })
  await host.start()
  process.stderr.write(`Data folder: ${settings.dataDir}\nClients may use files under: ${settings.allowedRoots.join(', ')}\n`)
  // The command line looks in the default data folder unless told: say how to point it here.
  if (settings.dataDir !== defaultDataDir())
    process.stderr.write(`For the tunedeck command line in another shell: export TUNEDECK_DATA_DIR=${shellQuoted(settings.dataDir)}\n`)
  // The command line finds this serve through it; written after the host is up, so a found file answers.
  writeServeFile(settings.dataDir, { port: server.port, token: server.token, url: server.url })
  if (!isLoopback(settings.bindHost)) process.stderr.write(exposedWarning(settings.bindHost, server.port))
  process.stdout.write(`Tunedeck is serving at ${server.url}\n`)

  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without waiting.\n`)
      process.exit(1)
    }
    stopping = true
    process.stderr.write(`${signal}: pausing running jobs and stopping.\n`)
    void (async () => {
      try {
        removeServeFile(settings.dataDir)
        await host.shutdown()
        await server.close()
        process.exit(0)
      } catch (error) {
        process.stderr.write(`Shutdown failed: ${(error as Error).stack}\n`)
        process.exit(1)
      }
    })()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((error: unknown) => {
  process.stderr.write(`Tunedeck could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
