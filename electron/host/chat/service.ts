/**
 * Chat sessions: one chat process at a time holding one base model and the adapters the
 * open conversation needs, started on the first question, unloaded after an idle time the
 * user sets, and before a training job launches on the GPU (training comes first). Answers
 * stream as chat.token events and end with chat.done; a process that dies mid-answer ends
 * its answers with reason "error" and the chat offers a restart.
 */
import { randomUUID } from 'node:crypto'
import type { ChatSendOutput, ChatSettings, ChatStatus, chatSendInputSchema } from '@shared/chat'
import { appError } from '@shared/errors'
import type { EventPayload } from '@shared/events'
import type { Job } from '@shared/jobs'
import type { z } from 'zod'
import { openDatabase, type Db } from '../store/database'
import { SettingsRepository } from '../store/settings'
import { ConversationsRepository } from './conversations'
import { Answers, Waiters, type AnswerEnd } from './answers'
import { ChatProcess, type ChatMessage } from './process'
import { chatAdapter, chatPanes, checkBase, checkSameBase, type ChatAdapter, type ChatPaneTarget } from './targets'

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
  private readonly running: Answers
  private readonly waiters = new Waiters()
  /** Why the process is being stopped on purpose; null while it should live. */
  private stopping: string | null = null
  private idleTimer: NodeJS.Timeout | null = null
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly options: ChatServiceOptions) {
    this.db = openDatabase(options.dataDir)
    this.settings = new SettingsRepository(this.db)
    this.conversations = new ConversationsRepository(this.db)
    this.running = new Answers(this.conversations, options.emit, () => this.db.open)
    this.status = {
      state: 'stopped',
      device: null,
      loaded: null,
      message: null,
      idleMinutes: this.settings.get(idleKey, 15),
      generating: 0,
    }
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
        if (this.running.of(existing.id).length > 0) {
          throw appError('conflict', 'This conversation is still answering: wait for it or press Stop.')
        }
      }
      const adapters: Record<string, string> = { a0: primary.dir }
      if (second) adapters.a1 = second.dir
      const label = `${primary.base.split(/[\\/]/).pop()} + ${[primary, second]
        .filter(Boolean)
        .map((adapter) => adapter?.label)
        .join(', ')}`
      await this.load({ key: JSON.stringify([primary.base, adapters]), base: primary.base, adapters, label })
      const conversation =
        input.conversationId === null
          ? this.conversations.create(input.source, input.compare, input.settings, input.text)
          : this.conversations.update(input.conversationId, input.compare, input.settings)
      const userTurn = this.conversations.addTurn(conversation.id, { role: 'user', pane: null, content: input.text })
      const starts = chatPanes(primary, second, input.compare === 'base').map((pane) =>
        this.generate(conversation.id, pane, input.settings),
      )
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
    for (const id of this.running.of(conversationId)) this.process?.send({ type: 'stop', id })
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
      throw appError(
        'conflict',
        `Another conversation is still answering with ${this.target?.label ?? 'the loaded model'}: wait for it or press Stop there, then ask again.`,
      )
    }
    this.setStatus({ state: 'loading', loaded: null, device: null, message: `Loading ${target.label}...` })
    const loaded = this.waiters.wait('load')
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
    const ready = this.waiters.wait('ready')
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
    for (const id of this.running.ids()) child.send({ type: 'stop', id })
    // Let the stop replies (done, reason "stopped") arrive before stdin closes.
    await new Promise((resolve) => setTimeout(resolve, this.running.size ? 200 : 0))
    await child.stop()
  }

  private generate(conversationId: string, pane: ChatPaneTarget, settings: ChatSettings) {
    const id = randomUUID()
    const started = this.waiters.wait(id)
    this.running.begin(id, conversationId, pane.pane)
    this.process?.send({
      type: 'generate',
      id,
      messages: this.conversations.history(conversationId, pane.pane),
      settings,
      adapter: pane.adapter,
      templateFrom: pane.templateFrom,
    })
    this.disarmIdle()
    return started.then(
      (reply) => {
        const prompt = String(reply.prompt ?? '')
        this.running.setPrompt(id, prompt)
        this.setStatus({})
        const dropped = typeof reply.dropped === 'number' ? reply.dropped : 0
        const note =
          dropped > 0
            ? `The oldest ${dropped} messages were left out: with them the conversation is longer than the model's context.`
            : null
        return { generationId: id, pane: pane.pane, label: pane.label, prompt, note }
      },
      (error: unknown) => {
        this.running.drop(id)
        throw error
      },
    )
  }

  private receive(message: ChatMessage): void {
    const id = typeof message.id === 'string' ? message.id : null
    if (message.type === 'ready') this.waiters.settle('ready', message)
    else if (message.type === 'loaded') this.waiters.settle('load', message)
    else if (message.type === 'started' && id) this.waiters.settle(id, message)
    else if (message.type === 'token' && id) this.running.token(id, String(message.text ?? ''))
    else if (message.type === 'done' && id) {
      const reason = message.reason === 'eos' || message.reason === 'length' || message.reason === 'stop' ? message.reason : 'stopped'
      this.finish(id, reason, typeof message.text === 'string' ? message.text : null, Number(message.tokens) || 0, null)
    } else if (message.type === 'error') {
      const text = String(message.message ?? 'the chat process failed')
      const failure = appError('invalid_input', text)
      if (id && this.waiters.has(id)) this.waiters.settle(id, failure)
      else if (id && this.running.has(id)) this.finish(id, 'error', null, 0, text)
      else if (message.request === 'load') {
        this.target = null
        this.setStatus({ state: 'ready', device: null, loaded: null, message: text })
        this.waiters.settle('load', failure)
      }
    }
  }

  private finish(id: string, reason: AnswerEnd, text: string | null, tokens: number, message: string | null): void {
    if (!this.running.finish(id, reason, text, tokens, message)) return
    this.setStatus({})
    this.armIdle()
  }

  private exited(child: ChatProcess, reason: string): void {
    if (this.process !== child) return
    this.process = null
    this.target = null
    const deliberate = this.stopping !== null
    const message = deliberate ? this.stopping || null : `The chat process stopped unexpectedly (${reason}). Restart it to go on.`
    for (const id of this.running.ids()) this.finish(id, deliberate ? 'stopped' : 'error', null, 0, message)
    for (const key of this.waiters.keys()) this.waiters.settle(key, appError('internal', message ?? 'The chat process was stopped.'))
    this.disarmIdle()
    this.setStatus({ state: deliberate ? 'stopped' : 'failed', device: null, loaded: null, message })
  }

  private setStatus(change: Partial<ChatStatus>): void {
    this.status = { ...this.status, ...change }
    this.options.emit('chat.status', this.current())
  }

  private armIdle(): void {
    this.disarmIdle()
    if (!this.process || this.running.size > 0) return
    const minutes = this.status.idleMinutes
    this.idleTimer = setTimeout(
      () => void this.unload(`Unloaded after ${minutes} minutes without a question.`),
      minutes * (this.options.minuteMs ?? 60_000),
    )
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
