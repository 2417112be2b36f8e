/**
 * The chat's bookkeeping of answers in flight and of replies awaited from the
 * chat process: which generation belongs to which conversation and pane, the
 * text streamed so far (sent as chat.token), and how each ends (stored as the
 * assistant's turn and sent as chat.done).
 */
import type { ChatPane } from '@shared/chat'
import { isAppError, type AppError } from '@shared/errors'
import type { EventPayload } from '@shared/events'
import type { ConversationsRepository } from './conversations'
import type { ChatMessage } from './process'

/** How an answer ended. */
export type AnswerEnd = 'eos' | 'length' | 'stop' | 'stopped' | 'error'

interface Answer {
  conversationId: string
  pane: ChatPane
  text: string
  prompt: string
}

type Emit = <E extends 'chat.token' | 'chat.done'>(event: E, payload: EventPayload<E>) => void

/** Answers being generated, by generation id. */
export class Answers {
  private readonly running = new Map<string, Answer>()

  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly emit: Emit,
    /** False once the database is closed (the host is stopping): an answer then is not stored. */
    private readonly storing: () => boolean,
  ) {}

  get size(): number {
    return this.running.size
  }

  ids(): string[] {
    return [...this.running.keys()]
  }

  has(id: string): boolean {
    return this.running.has(id)
  }

  /** The generation ids answering in a conversation. */
  of(conversationId: string): string[] {
    return [...this.running].filter(([, answer]) => answer.conversationId === conversationId).map(([id]) => id)
  }

  begin(id: string, conversationId: string, pane: ChatPane): void {
    this.running.set(id, { conversationId, pane, text: '', prompt: '' })
  }

  /** The prompt the process built (the template applied), kept with the stored turn. */
  setPrompt(id: string, prompt: string): void {
    const answer = this.running.get(id)
    if (answer) answer.prompt = prompt
  }

  /** Forgets an answer that never started. */
  drop(id: string): void {
    this.running.delete(id)
  }

  /** Adds streamed text and tells every window. */
  token(id: string, text: string): void {
    const answer = this.running.get(id)
    if (!answer) return
    answer.text += text
    this.emit('chat.token', { conversationId: answer.conversationId, generationId: id, pane: answer.pane, text })
  }

  /** Ends the answer: stores it as the assistant's turn and sends chat.done; false when it was not running. */
  finish(id: string, reason: AnswerEnd, text: string | null, tokens: number, message: string | null): boolean {
    const answer = this.running.get(id)
    if (!answer) return false
    this.running.delete(id)
    const content = text ?? answer.text
    try {
      if (this.storing())
        this.conversations.addTurn(answer.conversationId, { role: 'assistant', pane: answer.pane, content, prompt: answer.prompt, reason })
    } catch {
      // The conversation was deleted while it answered: the answer has nowhere to go.
    }
    this.emit('chat.done', {
      conversationId: answer.conversationId,
      generationId: id,
      pane: answer.pane,
      reason,
      text: content,
      tokens,
      message,
    })
    return true
  }
}

/** Replies awaited from the chat process: "ready", "load", or a generation id's "started". */
export class Waiters {
  private readonly waiting = new Map<string, { resolve: (message: ChatMessage) => void; reject: (error: AppError) => void }>()

  wait(key: string): Promise<ChatMessage> {
    return new Promise((resolve, reject) => this.waiting.set(key, { resolve, reject }))
  }

  has(key: string): boolean {
    return this.waiting.has(key)
  }

  keys(): string[] {
    return [...this.waiting.keys()]
  }

  /** Resolves the waiter with the reply, or rejects it with the error; nothing when no one waits. */
  settle(key: string, outcome: ChatMessage | AppError): void {
    const waiter = this.waiting.get(key)
    if (!waiter) return
    this.waiting.delete(key)
    if (isAppError(outcome)) waiter.reject(outcome)
    else waiter.resolve(outcome as ChatMessage)
  }
}
