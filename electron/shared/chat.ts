/**
 * Chat with a trained adapter (a job's, one of its checkpoints, or one of the adapter library):
 * the settings of an answer, the conversations kept per adapter, the chat process's status,
 * and the streamed tokens.
 */
import { z } from 'zod'
import { adapterSourceSchema, type AdapterSource } from './adapters'

/**
 * A trained adapter: a job's final adapter (checkpoint null), one of its checkpoints, or an
 * imported or combined adapter of the library ({adapterId}). The same shape the adapter
 * library combines from.
 */
export const chatSourceSchema = adapterSourceSchema

export type ChatSource = AdapterSource

/** The second pane: nothing, the base model (the adapter switched off), or another adapter of the same base. */
export const chatCompareSchema = z
  .union([z.literal('base'), chatSourceSchema])
  .nullable()
  .default('base')

export type ChatCompare = z.output<typeof chatCompareSchema>

/** Sampling settings, the same for both panes; temperature 0 is greedy. */
export const chatSettingsSchema = z.object({
  systemPrompt: z.string().max(20_000).default(''),
  temperature: z.number().min(0).max(2).default(0.7),
  topP: z.number().gt(0).max(1).default(0.95),
  maxNewTokens: z.int().min(1).max(8192).default(256),
  seed: z
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
  /** Texts that end the answer (not shown). */
  stop: z.array(z.string().min(1).max(200)).max(8).default([]),
})

export type ChatSettings = z.output<typeof chatSettingsSchema>

export const chatPanes = ['primary', 'compare'] as const
export type ChatPane = (typeof chatPanes)[number]

/** Why an answer ended: end of sequence, max new tokens, a stop text, Stop pressed, or a failure. */
export const chatDoneReasons = ['eos', 'length', 'stop', 'stopped', 'error'] as const

export const chatConversationSchema = z.object({
  id: z.string(),
  title: z.string(),
  source: chatSourceSchema,
  compare: chatCompareSchema,
  settings: chatSettingsSchema,
  createdAt: z.number(),
  updatedAt: z.number(),
})

export type ChatConversation = z.output<typeof chatConversationSchema>

/** One stored turn: the user's, or one pane's answer with the exact prompt it was given. */
export const chatTurnSchema = z.object({
  seq: z.int(),
  role: z.enum(['user', 'assistant']),
  pane: z.enum(chatPanes).nullable(),
  content: z.string(),
  prompt: z.string().nullable(),
  reason: z.enum(chatDoneReasons).nullable(),
  time: z.number(),
})

export type ChatTurn = z.output<typeof chatTurnSchema>

export const chatStates = ['stopped', 'starting', 'loading', 'ready', 'failed'] as const

export const chatStatusSchema = z.object({
  state: z.enum(chatStates),
  /** Where the model runs once loaded; null when nothing is loaded. */
  device: z.enum(['cuda', 'cpu']).nullable(),
  /** What is loaded, in words ("tiny-selftest + Self-test"), or null. */
  loaded: z.string().nullable(),
  /** A line for the chat: why it unloaded, that it runs on the CPU, why the process died. */
  message: z.string().nullable(),
  /** Minutes without a question before the model is unloaded. */
  idleMinutes: z.number().min(1),
  generating: z.int().min(0),
})

export type ChatStatus = z.output<typeof chatStatusSchema>

export const chatSendInputSchema = z.object({
  /** null starts a new conversation with this source, compare and settings. */
  conversationId: z.string().nullable().default(null),
  source: chatSourceSchema,
  compare: chatCompareSchema,
  settings: chatSettingsSchema.prefault({}),
  text: z.string().min(1, 'Type a message first.').max(100_000),
})

export const chatPaneStartSchema = z.object({
  generationId: z.string(),
  pane: z.enum(chatPanes),
  /** "Self-test", "Self-test @ step-4", "Base model". */
  label: z.string(),
  /** The exact text the model was given. */
  prompt: z.string(),
  /** Set when the oldest messages were left out so that the conversation fits the model's context. */
  note: z.string().nullable(),
})

export const chatSendOutputSchema = z.object({
  conversation: chatConversationSchema,
  panes: z.array(chatPaneStartSchema),
})

export type ChatSendOutput = z.output<typeof chatSendOutputSchema>

export const chatTokenSchema = z.object({
  conversationId: z.string(),
  generationId: z.string(),
  pane: z.enum(chatPanes),
  text: z.string(),
})

export const chatDoneSchema = z.object({
  conversationId: z.string(),
  generationId: z.string(),
  pane: z.enum(chatPanes),
  reason: z.enum(chatDoneReasons),
  /** The whole answer as stored. */
  text: z.string(),
  tokens: z.int().min(0),
  /** Why it failed, for reason "error". */
  message: z.string().nullable(),
})

export type ChatDone = z.output<typeof chatDoneSchema>
