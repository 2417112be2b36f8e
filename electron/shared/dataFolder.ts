/**
 * Where Tunedeck keeps its data when no folder is given: the folder Electron's
 * app.getPath('userData') gives an app named Tunedeck, so that the desktop app, `serve` and
 * the `tunedeck` command line find one another. Pure: the caller passes the platform, the
 * home folder and its path joiner (the contract imports nothing from Node).
 */

/** The name of the file in the data folder that tells the command line where serve listens. */
export const serveFileName = 'serve.json'

/** The default data folder; TUNEDECK_DATA_DIR wins (the caller resolves it against its cwd). */
export function defaultDataFolder(
  env: Readonly<Record<string, string | undefined>>,
  platform: string,
  home: string,
  join: (...parts: string[]) => string,
): string {
  if (env.TUNEDECK_DATA_DIR) return env.TUNEDECK_DATA_DIR
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Tunedeck')
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Tunedeck')
  return join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'Tunedeck')
}
