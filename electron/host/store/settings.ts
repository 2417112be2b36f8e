/** The settings table: small values stored as JSON under a key. */
import { prepared, type Db } from './database'

/** Reads and writes settings. */
export class SettingsRepository {
  constructor(private readonly db: Db) {}

  /** The stored value, or `fallback` when the key was never set or no longer parses. */
  get<T>(key: string, fallback: T): T {
    const row = prepared(this.db, 'SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined
    if (row === undefined) return fallback
    try {
      return JSON.parse(row.value) as T
    } catch {
      return fallback
    }
  }

  set(key: string, value: unknown): void {
    prepared(this.db, 'INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)').run(key, JSON.stringify(value))
  }
}
