/**
 * The folders a `serve` client may name: a token holder on the network side
 * of serve must not read the rest of the disk through a dataset preview or a
 * job's dataset and model paths. Paths are resolved through symlinks before
 * the containment check, and the request goes on with the resolved path so
 * that a link swapped afterwards cannot lead elsewhere. A missing path and a
 * path outside the roots get the same message, so a refusal tells nothing
 * about what exists outside them.
 *
 * Applied in the WebSocket transport (websocket.ts) before host.dispatch;
 * the app's own window is not limited (it is the user, picking files).
 */
import { existsSync, realpathSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { appError, type AppError } from '@shared/errors'

/** A hub id such as "Qwen/Qwen2.5-0.5B": names no file, so no root applies. */
const hubId = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/

/** One field of a route's input that holds a path. */
interface PathField {
  /** Property names from the input's top. */
  path: readonly string[]
  /** The field may hold a hub id instead of a path. */
  hubIdAllowed?: boolean
  /** A file the route writes: its folder must be inside the roots. */
  newFile?: boolean
}

/**
 * Where each route carries a path. A Map, not an object: it is looked up by the route name
 * from the wire, and "constructor" must find nothing. To follow a change of a route's input,
 * edit this table.
 */
export const pathFields: ReadonlyMap<string, readonly PathField[]> = new Map([
  ['datasets.preview', [{ path: ['path'] }, { path: ['tokens', 'modelPath'], hubIdAllowed: true }]],
  ['datasets.import', [{ path: ['path'] }]],
  ['jobs.create', [{ path: ['model', 'path'], hubIdAllowed: true }, { path: ['dataset', 'path'] }]],
  ['models.inspect', [{ path: ['path'], hubIdAllowed: true }]],
  ['models.add_folder', [{ path: ['path'] }]],
  ['models.remove_folder', [{ path: ['path'] }]],
  ['exports.start', [{ path: ['destination'], newFile: true }]],
  ['adapters.import', [{ path: ['path'] }]],
  ['adapters.export', [{ path: ['destination'], newFile: true }]],
  // A bundle is a new folder; import-run reads one a run wrote.
  ['jobs.bundle', [{ path: ['out'], newFile: true }]],
  ['jobs.import_run', [{ path: ['path'] }]],
])

/** Each root through its symlinks; a root that does not exist is dropped. */
export function resolveRoots(roots: readonly string[]): string[] {
  const resolved: string[] = []
  for (const root of roots) {
    try {
      resolved.push(realpathSync(resolve(root)))
    } catch {
      // A missing root contains nothing.
    }
  }
  return resolved
}

function isInside(root: string, file: string): boolean {
  if (root === file) return true
  const inside = relative(root, file)
  return inside !== '' && !inside.startsWith(`..${sep}`) && inside !== '..' && !isAbsolute(inside)
}

/** The real path of `text` when it exists inside a root, else null. */
export function allowedPath(text: string, roots: readonly string[]): string | null {
  if (text.includes('\0')) return null
  let real: string
  try {
    real = realpathSync(resolve(text.trim()))
  } catch {
    return null
  }
  return roots.some((root) => isInside(root, real)) ? real : null
}

/**
 * For a file yet to be written (its folders may not exist yet either, as <data>/exports/ before
 * the first export): the real path of its nearest existing folder must be inside a root; returns
 * that real path with the rest of the name, else null.
 */
export function allowedNewFile(text: string, roots: readonly string[]): string | null {
  if (text.includes('\0')) return null
  const target = resolve(text.trim())
  let existing = dirname(target)
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing)
  const folder = allowedPath(existing, roots)
  return folder === null ? null : join(folder, relative(existing, target))
}

/** The one answer for "missing" and "not allowed". */
function refusal(field: string, text: string, roots: readonly string[], newFile = false): AppError {
  const message = newFile
    ? `no folder Tunedeck may write to for ${text}: choose a place in an existing folder under ${roots.join(' or ')} (serve --allow-path DIR adds a folder).`
    : `no file Tunedeck may read at ${text}: choose one that exists under ${roots.join(' or ')} (serve --allow-path DIR adds a folder).`
  return appError('invalid_input', `${field}: ${message}`, { fields: { [field]: message } })
}

function valueAt(input: unknown, path: readonly string[]): unknown {
  let value: unknown = input
  for (const key of path) {
    // Only the input's own fields: an inherited one is not what the client sent.
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function withValue(input: unknown, path: readonly string[], replacement: string): unknown {
  const [key, ...rest] = path
  if (key === undefined) return replacement
  const object = input as Record<string, unknown>
  return { ...object, [key]: withValue(object[key], rest, replacement) }
}

/**
 * Checks every path field of a request against the roots. Returns the input
 * with each path replaced by its real path, or the AppError to answer with.
 * Fields that are absent or not strings are left to the route's own schema.
 */
export function checkRequestPaths(route: string, input: unknown, roots: readonly string[]): { input: unknown } | { error: AppError } {
  let checked = input
  for (const field of pathFields.get(route) ?? []) {
    const value = valueAt(checked, field.path)
    if (typeof value !== 'string' || value.trim() === '') continue
    const real = field.newFile ? allowedNewFile(value, roots) : allowedPath(value, roots)
    if (real !== null) {
      checked = withValue(checked, field.path, real)
      continue
    }
    // A hub id that is not also a local path outside the roots reads nothing from disk here.
    if (field.hubIdAllowed && hubId.test(value.trim()) && allowedPath(value, ['/']) === null) continue
    return { error: refusal(field.path.join('.'), value, roots, field.newFile) }
  }
  return { input: checked }
}
