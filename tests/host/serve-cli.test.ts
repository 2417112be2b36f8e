/**
 * serve's command line: the defaults a user gets with no flags, both flag
 * spellings, and the mistakes it refuses with a message naming the flag.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultDataDir, parseServeArgs } from '../../electron/host/transport/cli'

const repo = '/opt/tunedeck'

describe('serve command line', () => {
  it('defaults to port 5780 on 127.0.0.1 with the repo folders', () => {
    expect(parseServeArgs([], repo, { TUNEDECK_DATA_DIR: '/data/td' })).toEqual({
      port: 5780,
      bindHost: '127.0.0.1',
      dataDir: '/data/td',
      resourcesDir: join(repo, 'resources'),
      pythonRuntimeDir: join(repo, 'python-runtime'),
      rendererDir: join(repo, 'out', 'renderer'),
      watchdogSeconds: 120,
      maxUploadBytes: 4096 * 1024 * 1024,
      allowPrivateDownloads: false,
      allowedRoots: [homedir(), '/data/td'],
      newToken: false,
    })
    // --new-token takes no value: the next flag is read as usual.
    expect(parseServeArgs(['--new-token', '--port', '9000'], repo, {})).toMatchObject({ newToken: true, port: 9000 })
  })

  it('allows downloads from private addresses only with --allow-private-downloads', () => {
    expect(parseServeArgs(['--allow-private-downloads'], repo, {})?.allowPrivateDownloads).toBe(true)
    expect(() => parseServeArgs(['--allow-private-downloads=yes'], repo, {})).toThrow(/Unknown option/)
  })

  it('limits client paths to every --allow-path plus the data folder', () => {
    const settings = parseServeArgs(['--allow-path', '/srv/datasets', '--allow-path=rel/models', '--data-dir', '/d'], repo, {})
    expect(settings?.allowedRoots).toEqual(['/srv/datasets', resolve('rel/models'), '/d'])
    expect(() => parseServeArgs(['--allow-path'], repo, {})).toThrow(/--allow-path needs a value/)
  })

  it('takes the watchdog from --watchdog-seconds, else TUNEDECK_WATCHDOG_SECONDS, else 120', () => {
    expect(parseServeArgs(['--watchdog-seconds', '300'], repo, {})?.watchdogSeconds).toBe(300)
    expect(parseServeArgs(['--watchdog-seconds=45'], repo, { TUNEDECK_WATCHDOG_SECONDS: '600' })?.watchdogSeconds).toBe(45)
    expect(parseServeArgs([], repo, { TUNEDECK_WATCHDOG_SECONDS: ' 600 ' })?.watchdogSeconds).toBe(600)
    expect(parseServeArgs([], repo, { TUNEDECK_WATCHDOG_SECONDS: '' })?.watchdogSeconds).toBe(120)
    expect(() => parseServeArgs(['--watchdog-seconds', '0'], repo, {})).toThrow(/--watchdog-seconds 0: give a whole number of seconds/)
    expect(() => parseServeArgs(['--watchdog-seconds', '2m'], repo, {})).toThrow(/--watchdog-seconds 2m/)
    expect(() => parseServeArgs([], repo, { TUNEDECK_WATCHDOG_SECONDS: 'soon' })).toThrow(/TUNEDECK_WATCHDOG_SECONDS soon/)
  })

  it('takes --flag value and --flag=value, and resolves relative folders', () => {
    const settings = parseServeArgs(['--port=0', '--data-dir', 'rel/data', '--renderer-dir=/srv/ui', '--host', 'localhost'], repo, {})
    expect(settings).toMatchObject({ port: 0, dataDir: resolve('rel/data'), rendererDir: '/srv/ui', bindHost: '127.0.0.1' })
    expect(parseServeArgs(['--help'], repo, {})).toBeNull()
  })

  it('listens beyond this machine only when told (--host), the token then the only guard', () => {
    expect(parseServeArgs([], repo, {})).toMatchObject({ bindHost: '127.0.0.1' })
    expect(parseServeArgs(['--host', '0.0.0.0'], repo, {})).toMatchObject({ bindHost: '0.0.0.0' })
  })

  it('refuses mistakes, naming the flag', () => {
    expect(() => parseServeArgs(['--port', 'http'], repo, {})).toThrow(/--port http/)
    expect(() => parseServeArgs(['--port', '70000'], repo, {})).toThrow(/--port 70000/)
    expect(() => parseServeArgs(['--host', 'my host'], repo, {})).toThrow(/--host my host: give an address/)
    expect(() => parseServeArgs(['--data-dir'], repo, {})).toThrow(/--data-dir needs a value/)
    expect(() => parseServeArgs(['--verbose'], repo, {})).toThrow(/Unknown option --verbose/)
  })

  it("puts the data folder where Electron's userData for Tunedeck is", () => {
    expect(defaultDataDir({}, 'linux')).toBe(join(homedir(), '.config', 'Tunedeck'))
    expect(defaultDataDir({ XDG_CONFIG_HOME: '/x' }, 'linux')).toBe('/x/Tunedeck')
    expect(defaultDataDir({}, 'darwin')).toBe(join(homedir(), 'Library', 'Application Support', 'Tunedeck'))
    expect(defaultDataDir({ APPDATA: 'C:/Users/u/AppData/Roaming' }, 'win32')).toBe(join('C:/Users/u/AppData/Roaming', 'Tunedeck'))
    expect(defaultDataDir({ TUNEDECK_DATA_DIR: '/d' }, 'linux')).toBe('/d')
  })
})
