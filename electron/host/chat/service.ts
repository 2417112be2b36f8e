/**
 * Chat sessions: one chat process at a time holding one base model and the adapters the
 * open conversation needs, started on the first question, unloaded after an idle time the
 * user sets, and before a training job launches on the GPU (training comes first). Answers
 * stream as chat.token events and end with chat.done; a process that dies mid-answer ends
 * its answers with reason "error" and the chat offers a restart.
 */
import { randomUUID } from 'node:crypto'
import type { ChatPane, ChatSendOutput, ChatSettings, ChatStatus, chatSendInputSchema } from '@shared/chat'
import { appError, isAppError, type AppError } from '@shared/errors'
import type { EventPayload } from '@shared/events'
import type { Job } from '@shared/jobs'
import type { z } from 'zod'
import { openDatabase, type Db } from '../store/database'
import { SettingsRepository } from '../store/settings'
import { ConversationsRepository } from './conversations'
import { ChatProcess, type ChatMessage } from './process'
import { chatAdapter, checkBase, checkSameBase, type ChatAdapter } from './targets'

type ChatEvent = 'chat.token' | 'chat.done' | 'chat.status'

/** What the chat service needs from the host. */
export interface ChatServiceOptions {
  dataDir: string
  pythonRuntimeDir: string
  resolvePython: () => Promise<string>
  getJob: (jobId: string) => Job | Promise<Job>
  /** The name of a job holding the GPU now, or null. */
  busyJob: () => string | null | Promise<string | null>
  emit: <E extends ChatEvent>(event: E, payload: EventPayload<E>) => void
  heartbeatSeconds?: number
  /** Milliseconds in an idle "minute" (tests shorten it). */
  minuteMs?: number
}

interface Target {
  key: string
  base: string
  adapters: Record<string, string>
  label: string
}

interface Running {
  conversationId: string
  pane: ChatPane
  text: string
  prompt: string
}

interface Waiter {
  resolve: (message: ChatMessage) => void
  reject: (error: AppError) => void
}

const idleKey = 'chat.idleMinutes'

/** The host's side of chat; one per host. */
export class ChatService {
  private readonly db: Db
  private readonly settings: SettingsRepository
  readonly conversations: ConversationsRepository
  private process: ChatProcess | null = null
  private cuda = false
  private status: ChatStatus
  private target: Target | null = null
  private lastTarget: Target | null = null
  /** Answers being generated, by generation id. */
  private readonly running = new Map<string, Running>()
  /** Who waits for which reply: "ready", "load", or a generation id's "started". */
  private readonly waiters = new Map<string, Waiter>()
  /** Why the process is being stopped on purpose; null while it should live. */
  private stopping: string | null = null
  private idleTimer: NodeJS.Timeout | null = null
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly options: ChatServiceOptions) {
    this.db = openDatabase(options.dataDir)
    this.settings = new SettingsRepository(this.db)
    this.conversations = new ConversationsRepository(this.db)
    this.status = { state: 'stopped', device: null, loaded: null, message: null, idleMinutes: this.settings.get(idleKey, 15), generating: 0 }
  }

  /** The status the Chat page shows. */
  current(): ChatStatus {
    return { ...this.status, generating: this.running.size }
  }

  /** Adds the user's turn and starts each pane's answer; resolves once both have their prompt. */
  send(input: z.output<typeof chatSendInputSchema>): Promise<ChatSendOutput> {
    // A refused question (too long, a missing model) must not keep a loaded model from its idle unload.
    return this.exclusive(async () => {
      const primary = await chatAdapter(this.options.dataDir, input.source, this.options.getJob)
      checkBase(primary)
      let second: ChatAdapter | null = null
      if (input.compare !== null && input.compare !== 'base') {
        second = await chatAdapter(this.options.dataDir, input.compare, this.options.getJob)
        checkSameBase(primary, second)
      }
      if (input.conversationId !== null) {
        const existing = this.conversations.get(input.conversationId)
        if ([...this.running.values()].some((answer) => answer.conversationId === existing.id)) {
          throw appError('conflict', 'This conversation is still answering: wait for it or press Stop.')
        }
      }
      const adapters: Record<string, string> = { a0: primary.dir }
      if (second) adapters.a1 = second.dir
      const label = `${primary.base.split(/[\\/]/).pop()} + ${[primary, second].filter(Boolean).map((adapter) => adapter?.label).join(', ')}`
      await this.load({ key: JSON.stringify([primary.base, adapters]), base: primary.base, adapters, label })
      const conversation =
        input.conversationId === null
          ? this.conversations.create(input.source, input.compare, input.settings, input.text)
          : this.conversations.update(input.conversationId, input.compare, input.settings)
      const userTurn = this.conversations.addTurn(conversation.id, { role: 'user', pane: null, content: input.text })
      const panes: Array<{ pane: ChatPane; label: string; adapter: string | null; templateFrom: string }> = [
        { pane: 'primary', label: primary.label, adapter: 'a0', templateFrom: 'a0' },
      ]
      if (input.compare === 'base') panes.push({ pane: 'compare', label: 'Base model', adapter: null, templateFrom: 'a0' })
      else if (second) panes.push({ pane: 'compare', label: second.label, adapter: 'a1', templateFrom: 'a1' })
      const starts = panes.map((pane) => this.generate(conversation.id, pane, input.settings))
      const started = await Promise.allSettled(starts)
      const failed = started.find((result) => result.status === 'rejected')
      if (failed) {
        // Nothing of a question that could not be asked stays (a new conversation goes too).
        this.stop(conversation.id)
        if (input.conversationId === null) this.conversations.delete(conversation.id)
        else this.conversations.deleteTurn(conversation.id, userTurn)
        throw failed.reason
      }
      return {
        conversation,
        panes: started.map((result) => (result as PromiseFulfilledResult<ChatSendOutput['panes'][number]>).value),
      }
    }).finally(() => this.armIdle())
  }

  /** Ends the conversation's answers now (each still ends with chat.done, reason "stopped"). */
  stop(conversationId: string): void {
    for (const [id, answer] of this.running) if (answer.conversationId === conversationId) this.process?.send({ type: 'stop', id })
  }

  /** Unloads the model and stops the process. */
  unload(message = 'Unloaded.'): Promise<ChatStatus> {
    return this.exclusive(async () => {
      await this.stopProcess(message)
      return this.current()
    })
  }

  /** A fresh process, loading what was loaded before (after the old one died). */
  restart(): Promise<ChatStatus> {
    return this.exclusive(async () => {
      await this.stopProcess(null)
      if (this.lastTarget) await this.load(this.lastTarget)
      return this.current()
    })
  }

  setIdleMinutes(minutes: number): ChatStatus {
    this.settings.set(idleKey, minutes)
    this.setStatus({ idleMinutes: minutes })
    this.armIdle()
    return this.current()
  }

  /** Training is about to launch: frees the GPU if the chat model is on it (or may load onto it). */
  async releaseGpu(jobName: string): Promise<void> {
    if (!this.process || !this.cuda) return
    await this.unload(`Training "${jobName}" needs the GPU: the chat model was unloaded. Chat can load again once the GPU is free.`)
  }

  /** The host is stopping. */
  async shutdown(): Promise<void> {
    await this.stopProcess(null)
    if (this.db.open) this.db.close()
  }

  /** The child's pid, for tests that kill it mid-answer. */
  get pid(): number | undefined {
    return this.process?.pid
  }

  private async load(target: Target): Promise<void> {
    if (!this.process) await this.startProcess()
    const busy = this.cuda ? await this.options.busyJob() : null
    if (busy !== null) {
      throw appError('conflict', `The GPU is training "${busy}": chat can load once it has finished or is paused (training comes first).`)
    }
    if (this.target?.key === target.key) return
    if (this.running.size > 0) {
      // Loading other adapters would cut those answers off mid-sentence.
      throw appError('conflict', `Another conversation is still answering with ${this.target?.label ?? 'the loaded model'}: wait for it or press Stop there, then ask again.`)
    }
    this.setStatus({ state: 'loading', loaded: null, device: null, message: `Loading ${target.label}...` })
    const loaded = this.wait('load')
    this.process?.send({ type: 'load', base: target.base, adapters: target.adapters, device: 'auto' })
    const reply = await loaded
    this.target = target
    this.lastTarget = target
    const device = reply.device === 'cuda' ? 'cuda' : 'cpu'
    const message = device === 'cpu' ? 'No CUDA GPU is available: chat runs on the CPU, slowly but correctly.' : null
    this.setStatus({ state: 'ready', device, loaded: target.label, message })
  }

  private async startProcess(): Promise<void> {
    const python = await this.options.resolvePython()
    this.stopping = null
    this.setStatus({ state: 'starting', device: null, loaded: null, message: 'Starting the chat process...' })
    const ready = this.wait('ready')
    const child = new ChatProcess({
      python,
      pythonRuntimeDir: this.options.pythonRuntimeDir,
      heartbeatSeconds: this.options.heartbeatSeconds ?? 5,
      onMessage: (message) => this.receive(message),
      onExit: (reason) => this.exited(child, reason),
    })
    this.process = child
    this.cuda = (await ready).cuda === true
  }

  private async stopProcess(message: string | null): Promise<void> {
    const child = this.process
    if (!child) {
      if (message !== null) this.setStatus({ message })
      return
    }
    this.stopping = message ?? ''
    for (const id of this.running.keys()) child.send({ type: 'stop', id })
    // Let the stop replies (done, reason "stopped") arrive before stdin closes.
    await new Promise((resolve) => setTimeout(resolve, this.running.size ? 200 : 0))
    await child.stop()
  }

  private generate(conversationId: string, pane: { pane: ChatPane; label: string; adapter: string | null; templateFrom: string }, settings: ChatSettings) {
    const id = randomUUID()
    const started = this.wait(id)
    this.running.set(id, { conversationId, pane: pane.pane, text: '', prompt: '' })
    this.process?.send({ type: 'generate', id, messages: this.conversations.history(conversationId, pane.pane), settings, adapter: pane.adapter, templateFrom: pane.templateFrom })
    this.disarmIdle()
    return started.then(
      (reply) => {
        const prompt = String(reply.prompt ?? '')
        const answer = this.running.get(id)
        if (answer) answer.prompt = prompt
        this.setStatus({})
        const dropped = typeof reply.dropped === 'number' ? reply.dropped : 0
        const note = dropped > 0 ? `The oldest ${dropped} messages were left out: with them the conversation is longer than the model's context.` : null
        return { generationId: id, pane: pane.pane, label: pane.label, prompt, note }
      },
      (error: unknown) => {
        this.running.delete(id)
        throw error
      },
    )
  }

  private receive(message: ChatMessage): void {
    const id = typeof message.id === 'string' ? message.id : null
    if (message.type === 'ready') this.settle('ready', message)
    else if (message.type === 'loaded') this.settle('load', message)
    else if (message.type === 'started' && id) this.settle(id, message)
    else if (message.type === 'token' && id) {
      const answer = this.running.get(id)
      if (!answer) return
      answer.text += String(message.text ?? '')
      this.options.emit('chat.token', { conversationId: answer.conversationId, generationId: id, pane: answer.pane, text: String(message.text ?? '') })
    } else if (message.type === 'done' && id) {
      const reason = message.reason === 'eos' || message.reason === 'length' || message.reason === 'stop' ? message.reason : 'stopped'
      this.finish(id, reason, typeof message.text === 'string' ? message.text : null, Number(message.tokens) || 0, null)
    } else if (message.type === 'error') {
      const text = String(message.message ?? 'the chat process failed')
      const failure = appError('invalid_input', text)
      if (id && this.waiters.has(id)) this.settle(id, failure)
      else if (id && this.running.has(id)) this.finish(id, 'error', null, 0, text)
      else if (message.request === 'load') {
        this.target = null
        this.setStatus({ state: 'ready', device: null, loaded: null, message: text })
        this.settle('load', failure)
      }
    }
  }

  private finish(id: string, reason: 'eos' | 'length' | 'stop' | 'stopped' | 'error', text: string | null, tokens: number, message: string | null): void {
    const answer = this.running.get(id)
    if (!answer) return
    this.running.delete(id)
    const content = text ?? answer.text
    try {
      if (this.db.open) this.conversations.addTurn(answer.conversationId, { role: 'assistant', pane: answer.pane, content, prompt: answer.prompt, reason })
    } catch {
      // The conversation was deleted while it answered: the answer has nowhere to go.
    }
    this.options.emit('chat.done', { conversationId: answer.conversationId, generationId: id, pane: answer.pane, reason, text: content, tokens, message })
    this.setStatus({})
    this.armIdle()
  }

  private exited(child: ChatProcess, reason: string): void {
    if (this.process !== child) return
    this.process = null
    this.target = null
    const deliberate = this.stopping !== null
    const message = deliberate ? this.stopping || null : `The chat process stopped unexpectedly (${reason}). Restart it to go on.`
    for (const id of [...this.running.keys()]) this.finish(id, deliberate ? 'stopped' : 'error', null, 0, message)
    for (const key of [...this.waiters.keys()]) this.settle(key, appError('internal', message ?? 'The chat process was stopped.'))
    this.disarmIdle()
    this.setStatus({ state: deliberate ? 'stopped' : 'failed', device: null, loaded: null, message })
  }

  private wait(key: string): Promise<ChatMessage> {
    return new Promise((resolve, reject) => this.waiters.set(key, { resolve, reject }))
  }

  private settle(key: string, outcome: ChatMessage | AppError): void {
    const waiter = this.waiters.get(key)
    if (!waiter) return
    this.waiters.delete(key)
    if (isAppError(outcome)) waiter.reject(outcome)
    else waiter.resolve(outcome as ChatMessage)
  }

  private setStatus(change: Partial<ChatStatus>): void {
    this.status = { ...this.status, ...change }
    this.options.emit('chat.status', this.current())
  }

  private armIdle(): void {
    this.disarmIdle()
    if (!this.process || this.running.size > 0) return
    const minutes = this.status.idleMinutes
    this.idleTimer = setTimeout(() => void this.unload(`Unloaded after ${minutes} minutes without a question.`), minutes * (this.options.minuteMs ?? 60_000))
    this.idleTimer.unref()
  }

  private disarmIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer)
    this.idleTimer = null
  }

  /** Runs loads, unloads and sends one at a time, so two windows never load at once. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work)
    this.queue = next.catch(() => undefined)
    return next
  }
}
