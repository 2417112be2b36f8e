/**
 * The .partial zips being written, each recorded in <dataDir>/exports-running/ (beside, not in,
 * the exports folder the user sees) while its export runs: the zip is written beside its
 * destination (wherever the user chose), so a host that dies mid-export would leave it there. The next host removes the .partial of every record
 * whose writer is gone, and the record with it.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { removeAbandoned } from '../abandoned'

function recordsDir(dataDir: string): string {
  return path.join(dataDir, 'exports-running')
}

/** Records that this process writes `partial`; returns the record, for forgetPartial. */
export function recordPartial(dataDir: string, partial: string): string {
  fs.mkdirSync(recordsDir(dataDir), { recursive: true, mode: 0o700 })
  const record = path.join(recordsDir(dataDir), `${process.pid}-${randomBytes(4).toString('hex')}.json`)
  fs.writeFileSync(record, JSON.stringify({ partial }), { mode: 0o600 })
  return record
}

/** The export ended (its .partial renamed or removed): the record goes. */
export function forgetPartial(record: string): void {
  fs.rmSync(record, { force: true })
}

/** Removes the .partial zips of exports whose host died, and their records. */
export function removeAbandonedPartials(dataDir: string): void {
  removeAbandoned(
    recordsDir(dataDir),
    (name) => Number(/^(\d+)-[0-9a-f]+\.json$/.exec(name)?.[1]) || undefined,
    (record) => {
      try {
        const { partial } = JSON.parse(fs.readFileSync(record, 'utf8')) as { partial?: unknown }
        // Only a .partial: a record cannot be made to delete anything else.
        if (typeof partial === 'string' && partial.endsWith('.zip.partial')) fs.rmSync(partial, { force: true })
      } catch {
        // A torn record (the host died while writing it): its .partial was not made yet.
      }
      fs.rmSync(record, { force: true })
    },
  )
}
