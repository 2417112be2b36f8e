/**
 * The database schema, as numbered migrations kept in code. `user_version`
 * records how many have run; each runs once, in its own transaction.
 * Never edit a migration that has shipped: append a new one.
 */
import type { Database } from 'better-sqlite3'

/** Migration N (1-based) is `migrations[N - 1]`. */
export const migrations: readonly string[] = [
  // 1: jobs, their metrics, checkpoints, ingested event seqs and settings.
  `
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    step INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER NOT NULL DEFAULT 0,
    loss REAL,
    tokens_per_second REAL,
    error TEXT,
    adapter_path TEXT,
    queue_position INTEGER,
    pid INTEGER,
    pid_start_time TEXT,
    last_event_time REAL,
    events_offset INTEGER NOT NULL DEFAULT 0,
    paused_checkpoint TEXT
  );
  CREATE INDEX jobs_by_status ON jobs (status);

  CREATE TABLE metrics (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    loss REAL NOT NULL,
    lr REAL NOT NULL,
    grad_norm REAL,
    tokens INTEGER NOT NULL,
    epoch REAL NOT NULL,
    tokens_per_second REAL NOT NULL,
    time REAL NOT NULL,
    PRIMARY KEY (job_id, step)
  ) WITHOUT ROWID;

  CREATE TABLE ingested_events (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq)
  ) WITHOUT ROWID;

  CREATE TABLE checkpoints (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    step INTEGER NOT NULL,
    loss REAL,
    time REAL NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (job_id, name)
  );

  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 2: what the job report shows besides the loss curve (see store/notes.ts), and each step's MFU.
  `
  CREATE TABLE job_notes (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
  ) WITHOUT ROWID;

  ALTER TABLE metrics ADD COLUMN mfu REAL;
  `,
  // 3: chat conversations per adapter (a job's, or one of its checkpoints) and their turns (see chat/conversations.ts).
  `
  CREATE TABLE chat_conversations (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    checkpoint TEXT,
    title TEXT NOT NULL,
    compare TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
  );
  CREATE INDEX chat_conversations_by_job ON chat_conversations (job_id, updated_at);

  CREATE TABLE chat_turns (
    conversation_id TEXT NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    pane TEXT,
    content TEXT NOT NULL,
    prompt TEXT,
    reason TEXT,
    time REAL NOT NULL,
    PRIMARY KEY (conversation_id, seq)
  ) WITHOUT ROWID;
  `,
  // 4: GPU readings sampled while a job runs, in buckets that keep each reading's min, max and mean (gpu/history.ts).
  `
  CREATE TABLE gpu_samples (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    gpu_index INTEGER NOT NULL,
    time_start REAL NOT NULL,
    time_end REAL NOT NULL,
    samples INTEGER NOT NULL,
    name TEXT NOT NULL,
    readings TEXT NOT NULL,
    PRIMARY KEY (job_id, gpu_index, time_start)
  ) WITHOUT ROWID;
  `,
  // 5: a conversation may be with a library adapter (adapter_id) instead of a job's. SQLite cannot
  // drop NOT NULL from job_id in place, so both chat tables are rebuilt: the turns first, because
  // dropping the old conversations would otherwise cascade into them. RENAME then points the new
  // turns' foreign key at the renamed conversations.
  `
  CREATE TABLE chat_conversations_v5 (
    id TEXT PRIMARY KEY,
    job_id TEXT REFERENCES jobs (id) ON DELETE CASCADE,
    checkpoint TEXT,
    adapter_id TEXT,
    title TEXT NOT NULL,
    compare TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    CHECK ((job_id IS NULL) <> (adapter_id IS NULL))
  );
  INSERT INTO chat_conversations_v5 (id, job_id, checkpoint, title, compare, settings, created_at, updated_at)
    SELECT id, job_id, checkpoint, title, compare, settings, created_at, updated_at FROM chat_conversations;

  CREATE TABLE chat_turns_v5 (
    conversation_id TEXT NOT NULL REFERENCES chat_conversations_v5 (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    pane TEXT,
    content TEXT NOT NULL,
    prompt TEXT,
    reason TEXT,
    time REAL NOT NULL,
    PRIMARY KEY (conversation_id, seq)
  ) WITHOUT ROWID;
  INSERT INTO chat_turns_v5 SELECT conversation_id, seq, role, pane, content, prompt, reason, time FROM chat_turns;

  DROP TABLE chat_turns;
  DROP TABLE chat_conversations;
  ALTER TABLE chat_conversations_v5 RENAME TO chat_conversations;
  ALTER TABLE chat_turns_v5 RENAME TO chat_turns;
  CREATE INDEX chat_conversations_by_job ON chat_conversations (job_id, updated_at);
  CREATE INDEX chat_conversations_by_adapter ON chat_conversations (adapter_id, updated_at);
  `,
]

/**
 * Brings the database up to the newest schema. Refuses a database written by
 * a newer Tunedeck, whose tables this version may misread.
 */
export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > migrations.length) {
    throw new Error(
      `${db.name} has schema version ${current}, newer than this Tunedeck understands (${migrations.length}); update Tunedeck or use another data directory`,
    )
  }
  for (let index = current; index < migrations.length; index += 1) {
    db.transaction(() => {
      db.exec(migrations[index] as string)
      db.pragma(`user_version = ${index + 1}`)
    })()
  }
}
