/**
 * The chat_conversations and chat_turns tables: conversations kept per adapter (a job's, one of
 * its checkpoints', or a library adapter's), each turn the user's or one pane's answer with the
 * exact prompt it was given. Deleting a job deletes its conversations (foreign key cascade);
 * deleting a library adapter calls forgetAdapter.
 */
import { randomUUID } from 'node:crypto'
import { appError } from '@shared/errors'
import {
  chatCompareSchema,
  chatSettingsSchema,
  type ChatCompare,
  type ChatConversation,
  type ChatPane,
  type ChatSettings,
  type ChatSource,
  type ChatTurn,
} from '@shared/chat'
import type { Db } from '../store'

interface ConversationRow {
  id: string
  job_id: string | null
  checkpoint: string | null
  adapter_id: string | null
  title: string
  compare: string
  settings: string
  created_at: number
  updated_at: number
}

function toConversation(row: ConversationRow): ChatConversation {
  return {
    id: row.id,
    title: row.title,
    source: row.adapter_id !== null ? { adapterId: row.adapter_id } : { jobId: row.job_id as string, checkpoint: row.checkpoint },
    compare: chatCompareSchema.parse(JSON.parse(row.compare)),
    settings: chatSettingsSchema.parse(JSON.parse(row.settings)),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** A conversation's title: the start of its first question, on one line. */
function titleOf(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 60 ? `${line.slice(0, 57)}...` : line
}

/** Reads and writes conversations and their turns. */
export class ConversationsRepository {
  constructor(private readonly db: Db) {}

  /** A new conversation titled after its first question. */
  create(source: ChatSource, compare: ChatCompare, settings: ChatSettings, firstText: string): ChatConversation {
    const now = Date.now()
    const id = randomUUID()
    const [jobId, checkpoint, adapterId] = 'adapterId' in source ? [null, null, source.adapterId] : [source.jobId, source.checkpoint, null]
    this.db
      .prepare(
        'INSERT INTO chat_conversations (id, job_id, checkpoint, adapter_id, title, compare, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, jobId, checkpoint, adapterId, titleOf(firstText), JSON.stringify(compare), JSON.stringify(settings), now, now)
    return this.get(id)
  }

  /** The conversation, or a not_found error naming it. */
  get(id: string): ChatConversation {
    const row = this.db.prepare('SELECT * FROM chat_conversations WHERE id = ?').get(id) as ConversationRow | undefined
    if (!row) throw appError('not_found', `No conversation ${id}: it was deleted (perhaps with its job). Start a new one.`)
    return toConversation(row)
  }

  /** Newest first; only the adapter's when a source is given. */
  list(source: ChatSource | null): ChatConversation[] {
    let rows: ConversationRow[]
    if (source === null) rows = this.db.prepare('SELECT * FROM chat_conversations ORDER BY updated_at DESC').all() as ConversationRow[]
    else if ('adapterId' in source) {
      rows = this.db
        .prepare('SELECT * FROM chat_conversations WHERE adapter_id = ? ORDER BY updated_at DESC')
        .all(source.adapterId) as ConversationRow[]
    } else {
      rows = this.db
        .prepare('SELECT * FROM chat_conversations WHERE job_id = ? AND checkpoint IS ? ORDER BY updated_at DESC')
        .all(source.jobId, source.checkpoint) as ConversationRow[]
    }
    return rows.map(toConversation)
  }

  /** Deletes the conversations with a library adapter that was deleted (their turns cascade). */
  forgetAdapter(adapterId: string): void {
    this.db.prepare('DELETE FROM chat_conversations WHERE adapter_id = ?').run(adapterId)
  }

  /** Keeps the settings and second pane the conversation was last asked with. */
  update(id: string, compare: ChatCompare, settings: ChatSettings): ChatConversation {
    this.db
      .prepare('UPDATE chat_conversations SET compare = ?, settings = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify(compare), JSON.stringify(settings), Date.now(), id)
    return this.get(id)
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM chat_conversations WHERE id = ?').run(id)
  }

  /** Appends a turn; returns its seq. */
  addTurn(
    id: string,
    turn: { role: 'user' | 'assistant'; pane: ChatPane | null; content: string; prompt?: string | null; reason?: ChatTurn['reason'] },
  ): number {
    const row = this.db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM chat_turns WHERE conversation_id = ?').get(id) as {
      next: number
    }
    this.db
      .prepare('INSERT INTO chat_turns (conversation_id, seq, role, pane, content, prompt, reason, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, row.next, turn.role, turn.pane, turn.content, turn.prompt ?? null, turn.reason ?? null, Date.now())
    this.db.prepare('UPDATE chat_conversations SET updated_at = ? WHERE id = ?').run(Date.now(), id)
    return row.next
  }

  deleteTurn(id: string, seq: number): void {
    this.db.prepare('DELETE FROM chat_turns WHERE conversation_id = ? AND seq = ?').run(id, seq)
  }

  /** Every turn, in order. */
  turns(id: string): ChatTurn[] {
    const rows = this.db
      .prepare('SELECT seq, role, pane, content, prompt, reason, time FROM chat_turns WHERE conversation_id = ? ORDER BY seq')
      .all(id)
    return rows as ChatTurn[]
  }

  /** What one pane's model is given: the user's turns and that pane's own answers, in order. */
  history(id: string, pane: ChatPane): Array<{ role: 'user' | 'assistant'; content: string }> {
    return this.turns(id)
      .filter((turn) => turn.role === 'user' || turn.pane === pane)
      .map((turn) => ({ role: turn.role, content: turn.content }))
  }
}
