/**
 * The Chat page: the adapter chatted with, the second pane, the settings, the open conversation
 * and its exchanges, the conversations kept for the adapter, and the chat process's status.
 * Events (chat.token, chat.done, chat.status) are wired by startChatSync, called by the page.
 */
import { create } from 'zustand'
import {
  chatSettingsSchema,
  type ChatCompare,
  type ChatConversation,
  type ChatSettings,
  type ChatSource,
  type ChatStatus,
} from '@shared/chat'
import type { AppClient } from '../api/client'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { compareLabel, exchangesFromTurns, sourceLabel, updateAnswer, type Exchange } from '../logic/chat'
import { useAdaptersStore } from './adapters'
import { useJobsStore } from './jobs'

interface ChatState {
  source: ChatSource | null
  compare: ChatCompare
  settings: ChatSettings
  conversationId: string | null
  exchanges: Exchange[]
  conversations: ChatConversation[]
  status: ChatStatus | null
  /** Lines the chat shows between exchanges: unloaded for training, running on the CPU, the process died. */
  notices: Array<{ text: string; after: number }>
  sending: boolean
  error: string | null
  showPrompts: boolean
  choose(source: ChatSource | null): Promise<void>
  setCompare(compare: ChatCompare): void
  editSettings(change: Partial<ChatSettings>): void
  newConversation(): void
  openConversation(conversationId: string): Promise<void>
  deleteConversation(conversationId: string): Promise<void>
  send(text: string): Promise<boolean>
  stop(): Promise<void>
  restart(): Promise<void>
  unload(): Promise<void>
  setIdle(minutes: number): Promise<void>
  togglePrompts(): void
}

const defaults = chatSettingsSchema.parse({})

/** True while an answer of the open conversation is still coming. */
export function isAnswering(exchanges: readonly Exchange[]): boolean {
  return exchanges.some((exchange) =>
    Object.values(exchange.panes).some((answer) => answer.generationId !== null && answer.reason === null),
  )
}

/** One store for the Chat page; use as useChatStore(selector). */
export const useChatStore = create<ChatState>()((set, get) => {
  const known = () => ({ jobs: useJobsStore.getState().list, adapters: useAdaptersStore.getState().list })
  const refreshList = async () => {
    const source = get().source
    if (!source) return set({ conversations: [] })
    const conversations = await getClient().request('chat.conversations', { source })
    set({ conversations })
  }
  return {
    source: null,
    compare: 'base',
    settings: defaults,
    conversationId: null,
    exchanges: [],
    conversations: [],
    status: null,
    notices: [],
    sending: false,
    error: null,
    showPrompts: false,
    async choose(source) {
      set({ source, conversationId: null, exchanges: [], error: null, notices: [] })
      try {
        const [status] = await Promise.all([getClient().request('chat.status', {}), refreshList()])
        set({ status })
      } catch (error) {
        set({ error: errorMessage(error) })
      }
    },
    setCompare(compare) {
      set({ compare })
    },
    editSettings(change) {
      set({ settings: { ...get().settings, ...change } })
    },
    newConversation() {
      set({ conversationId: null, exchanges: [], error: null, notices: [] })
    },
    async openConversation(conversationId) {
      try {
        const { conversation, turns } = await getClient().request('chat.conversation', { conversationId })
        const labels = { primary: sourceLabel(known(), conversation.source), compare: compareLabel(known(), conversation.compare) ?? '' }
        set({
          conversationId,
          compare: conversation.compare,
          settings: conversation.settings,
          exchanges: exchangesFromTurns(turns, labels),
          error: null,
          notices: [],
        })
      } catch (error) {
        set({ error: errorMessage(error) })
      }
    },
    async deleteConversation(conversationId) {
      await getClient().request('chat.delete_conversation', { conversationId })
      if (get().conversationId === conversationId) get().newConversation()
      await refreshList()
    },
    async send(text) {
      const { source, compare, settings, conversationId } = get()
      if (!source || get().sending) return false
      set({ sending: true, error: null })
      try {
        const sent = await getClient().request('chat.send', { conversationId, source, compare, settings, text })
        const panes: Exchange['panes'] = {}
        for (const pane of sent.panes)
          panes[pane.pane] = {
            generationId: pane.generationId,
            label: pane.label,
            text: '',
            prompt: pane.prompt,
            reason: null,
            message: null,
            note: pane.note,
          }
        // Tokens may have arrived before this answer: they are replayed by applyEarly below.
        set({ conversationId: sent.conversation.id, exchanges: [...get().exchanges, { question: text, panes }], sending: false })
        for (const pane of sent.panes) replayEarly(pane.generationId)
        await refreshList()
        return true
      } catch (error) {
        set({ sending: false, error: errorMessage(error) })
        return false
      }
    },
    async stop() {
      const conversationId = get().conversationId
      if (conversationId) await getClient().request('chat.stop', { conversationId })
    },
    async restart() {
      set({ error: null })
      try {
        set({ status: await getClient().request('chat.restart', {}) })
      } catch (error) {
        set({ error: errorMessage(error) })
      }
    },
    async unload() {
      set({ status: await getClient().request('chat.unload', {}) })
    },
    async setIdle(minutes) {
      set({ status: await getClient().request('chat.set_idle', { minutes }) })
    },
    togglePrompts() {
      set({ showPrompts: !get().showPrompts })
    },
  }
})

/** Tokens and ends that came before chat.send answered, by generation id. */
const early = new Map<string, Array<() => void>>()

function replayEarly(generationId: string): void {
  for (const apply of early.get(generationId) ?? []) apply()
  early.delete(generationId)
}

function known(generationId: string): boolean {
  return useChatStore
    .getState()
    .exchanges.some((exchange) => Object.values(exchange.panes).some((answer) => answer.generationId === generationId))
}

/** Applies now, or once chat.send has answered when the generation is not known yet (only while sending). */
function applyOrKeep(generationId: string, apply: () => void): void {
  if (known(generationId)) apply()
  else if (useChatStore.getState().sending) early.set(generationId, [...(early.get(generationId) ?? []), apply])
}

/** Subscribes the chat store to the host's chat events; returns the unsubscribe. */
export function startChatSync(client: AppClient): () => void {
  const update = (generationId: string, change: Parameters<typeof updateAnswer>[2]) =>
    useChatStore.setState({ exchanges: updateAnswer(useChatStore.getState().exchanges, generationId, change) })
  const stops = [
    client.on('chat.token', ({ generationId, text }) =>
      applyOrKeep(generationId, () => update(generationId, (answer) => ({ ...answer, text: answer.text + text }))),
    ),
    client.on('chat.done', ({ generationId, reason, text, message }) =>
      applyOrKeep(generationId, () => update(generationId, (answer) => ({ ...answer, text, reason, message }))),
    ),
    client.on('chat.status', (status) => {
      const before = useChatStore.getState().status
      const notices = useChatStore.getState().notices
      const changed = status.message && status.message !== before?.message && status.state !== 'loading' && status.state !== 'starting'
      const after = useChatStore.getState().exchanges.length
      useChatStore.setState({ status, notices: changed ? [...notices, { text: status.message as string, after }] : notices })
    }),
  ]
  return () => stops.forEach((stop) => stop())
}
