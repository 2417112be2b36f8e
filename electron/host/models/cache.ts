/**
 * Where huggingface_hub keeps downloads, computed as it does, so the host's checks and the
 * trainer agree: HF_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME or ~/.cache, /huggingface/hub.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** The hub cache folder for this environment. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return path.resolve(expandHome(env.HF_HUB_CACHE))
  const home = env.HF_HOME
    ? expandHome(env.HF_HOME)
    : path.join(env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache'), 'huggingface')
  return path.resolve(home, 'hub')
}

function expandHome(value: string): string {
  return value === '~' || value.startsWith('~/') ? path.join(os.homedir(), value.slice(1)) : value
}

/**
 * The snapshot folder of a hub id in the cache (the one refs/main points at, else the newest),
 * when it holds config.json; null when the model was never downloaded.
 */
export function cachedHubModel(hubId: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const repo = path.join(hubCacheDir(env), `models--${hubId.replaceAll('/', '--')}`)
  const candidates: string[] = []
  try {
    candidates.push(path.join(repo, 'snapshots', fs.readFileSync(path.join(repo, 'refs', 'main'), 'utf8').trim()))
  } catch {
    // No ref: a download by commit, or none at all.
  }
  try {
    const snapshots = fs.readdirSync(path.join(repo, 'snapshots')).map((name) => path.join(repo, 'snapshots', name))
    snapshots.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)
    candidates.push(...snapshots)
  } catch {
    return null
  }
  return candidates.find((folder) => fs.existsSync(path.join(folder, 'config.json'))) ?? null
}
