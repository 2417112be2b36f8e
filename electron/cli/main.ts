/**
 * `tunedeck`: the command line of a running Tunedeck (the desktop app or `serve`).
 *
 *   npx tunedeck start --model selftest --follow
 *   npx tunedeck jobs --json
 *   npx tunedeck --url 'http://127.0.0.1:5780/#token=...' jobs     (a serve elsewhere, e.g. through an SSH tunnel)
 *
 * Exit codes: 0 done, 1 a failure (no app running, a job that failed when followed, the host's
 * refusal), 2 a usage mistake (an unknown option, a missing argument, a setting out of range);
 * `logs --follow` and `start --follow` end with the job's own code (3 paused, 4 cancelled).
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { defaultDataFolder } from '@shared/dataFolder'
import { escapeControls } from '@shared/names'
import { CliClient, ConnectionError, RouteError } from './client'
import { parseCommandLine, UsageError } from './commands'
import { runCommand } from './run'

async function main(argv: string[]): Promise<number> {
  const io = {
    out: (text: string) => process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`),
    // Messages may quote names and paths the host stored: escaped, they cannot command the terminal.
    err: (text: string) => process.stderr.write(`${escapeControls(text)}\n`),
    write: (text: string) => process.stdout.write(text),
  }
  let client: CliClient | null = null
  try {
    const parsed = parseCommandLine(argv)
    if ('help' in parsed) {
      io.out(parsed.help)
      return 0
    }
    const url = parsed.url ?? (process.env.TUNEDECK_URL || undefined)
    if (url !== undefined) client = await CliClient.connectUrl(url, parsed.token ?? (process.env.TUNEDECK_TOKEN || undefined))
    else client = await CliClient.connect(resolve(parsed.dataDir ?? defaultDataFolder(process.env, process.platform, homedir(), join)))
    return await runCommand(client, parsed, io, {
      readFile: (path) => readFileSync(path, 'utf8'),
      resolvePath: (path) => resolve(path),
      exists: (path) => existsSync(path),
    })
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`tunedeck: ${error.message}`)
      return 2
    }
    if (error instanceof RouteError) {
      io.err(`tunedeck: ${error.message}`)
      // A setting the host refuses is the command line's mistake; anything else is a failure.
      return error.error.code === 'invalid_input' ? 2 : 1
    }
    if (error instanceof ConnectionError) {
      io.err(`tunedeck: ${error.message}`)
      return 1
    }
    io.err(`tunedeck: ${(error as Error).stack ?? String(error)}`)
    return 1
  } finally {
    client?.close()
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
