/** Opens <dataDir>/tunedeck.db with the settings every host process uses. */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { migrate } from './migrations'

export type Db = Database.Database

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
