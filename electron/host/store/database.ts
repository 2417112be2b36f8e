/** Opens <dataDir>/tunedeck.db with the settings every host process uses. */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { migrate } from './migrations'

export type Db = Database.Database

const statements = new WeakMap<Db, Map<string, Database.Statement>>()

/**
 * The statement for `sql` on `db`, prepared once and kept: ingesting a job's events runs the same
 * few statements thousands of times a second, and preparing each time was most of that work.
 */
export function prepared(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db)
  if (!cache) {
    cache = new Map()
    statements.set(db, cache)
  }
  let statement = cache.get(sql)
  if (!statement) {
    statement = db.prepare(sql)
    cache.set(sql, statement)
  }
  return statement
}

/** The database file's name inside the data directory. */
export const databaseFileName = 'tunedeck.db'

/**
 * Opens (creating if needed) the database in WAL mode, so readers never wait
 * for the writer, with a busy timeout for a second process on the same file
 * and foreign keys on; then runs pending migrations.
 */
export function openDatabase(dataDir: string): Db {
  fs.mkdirSync(dataDir, { recursive: true })
  const db = new Database(path.join(dataDir, databaseFileName))
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  // NORMAL is durable across application crashes in WAL mode; only a power cut may lose the last commit.
  db.pragma('synchronous = NORMAL')
  migrate(db)
  return db
}
