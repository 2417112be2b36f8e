/**
 * `tunedeck chat JOB|ADAPTER`: a conversation in the terminal through the host's chat process,
 * the same one the Chat page uses, with a job's adapter (or checkpoint) or a library adapter. Each line read is a user turn; the answer streams to stdout
 * as chat.token events arrive; end of input (Ctrl-D) ends the command, Ctrl-C stops an answer.
 */
import { createInterface } from 'node:readline'
import type { ChatDone, ChatSendOutput, ChatSource } from '@shared/chat'
import type { CliClient } from './client'
import type { CommandLine } from './commands'
import { UsageError } from './commands'
import type { Output } from './output'

/** The number a flag holds, or undefined when it is not given; a UsageError naming it when it is not a number. */
function numberFlag(line: CommandLine, flag: string): number | undefined {
  const value = line.flags[flag]
  if (typeof value !== 'string') return undefined
  const parsed = Number(value)
  if (!Number.isFinite(parsed)) throw new UsageError(`${flag} takes a number, not "${value}".`)
  return parsed
}

/** A library adapter when the argument is one's id, else a job's adapter (or its --checkpoint). */
async function chatSource(client: CliClient, line: CommandLine): Promise<ChatSource> {
  const [id = ''] = line.arguments
  const checkpoint = typeof line.flags['--checkpoint'] === 'string' ? line.flags['--checkpoint'] : null
  const adapters = await client.request('adapters.list', {})
  if (!adapters.some((adapter) => adapter.id === id)) return { jobId: id, checkpoint }
  if (checkpoint !== null)
    throw new UsageError(`--checkpoint names a checkpoint of a job, and ${id} is a library adapter: leave --checkpoint out.`)
  return { adapterId: id }
}

function sourceWords(source: ChatSource): string {
  if ('adapterId' in source) return `library adapter ${source.adapterId}`
  return `job ${source.jobId}${source.checkpoint ? ` (checkpoint ${source.checkpoint})` : ''}`
}

function standardInput(): AsyncIterable<string> {
  return createInterface({ input: process.stdin, terminal: false })
}

/** Runs the conversation until the input ends; 0, or 1 when the host went away. */
export async function chat(client: CliClient, line: CommandLine, io: Output): Promise<number> {
  const source = await chatSource(client, line)
  const settings = {
    ...(typeof line.flags['--system'] === 'string' ? { systemPrompt: line.flags['--system'] } : {}),
    temperature: numberFlag(line, '--temperature'),
    topP: numberFlag(line, '--top-p'),
    maxNewTokens: numberFlag(line, '--max-new-tokens'),
    seed: numberFlag(line, '--seed'),
  }
  const write = io.write ?? io.out
  let generationId: string | null = null
  let finished: ((done: ChatDone) => void) | null = null
  // Tokens and ends can come before chat.send answers (the host streams as soon as the prompt is in).
  const early = new Map<string, ChatDone>()
  const earlyTokens = new Map<string, string>()
  let said: string | null = null
  const stops = [
    client.on('chat.token', (token) => {
      if (token.generationId === generationId) {
        if (!line.json) write(token.text)
      } else earlyTokens.set(token.generationId, (earlyTokens.get(token.generationId) ?? '') + token.text)
    }),
    client.on('chat.done', (done) => {
      if (done.generationId === generationId) finished?.(done)
      else early.set(done.generationId, done)
    }),
    client.on('chat.status', (status) => {
      // Every status event repeats the standing message (each answer's start and end send one): say it once.
      if (status.message && status.message !== said && !line.json) io.err(status.message)
      said = status.message
    }),
  ]
  let closed = false
  client.onClose(() => {
    closed = true
    finished?.({
      conversationId: '',
      generationId: generationId ?? '',
      pane: 'primary',
      reason: 'error',
      text: '',
      tokens: 0,
      message: 'Tunedeck stopped.',
    })
  })
  let conversationId: string | null = null
  const onInterrupt = () => {
    if (generationId !== null && conversationId !== null) void client.request('chat.stop', { conversationId }).catch(() => undefined)
    else process.exit(130)
  }
  process.on('SIGINT', onInterrupt)
  if (process.stdin.isTTY && !io.lines)
    io.err(`Chatting with ${sourceWords(source)}: type a line and press Enter; Ctrl-C stops an answer, Ctrl-D ends.`)
  try {
    for await (const text of (io.lines ?? standardInput)()) {
      if (!text.trim()) continue
      earlyTokens.clear()
      early.clear()
      const sent: ChatSendOutput = await client.request('chat.send', { conversationId, source, compare: null, settings, text })
      conversationId = sent.conversation.id
      const pane = sent.panes[0]
      if (!pane) continue
      generationId = pane.generationId
      if (pane.note && !line.json) io.err(pane.note)
      if (!line.json) write(earlyTokens.get(pane.generationId) ?? '')
      const done = await new Promise<ChatDone>((resolve) => {
        finished = resolve
        const already = early.get(pane.generationId)
        if (already) resolve(already)
      })
      finished = null
      generationId = null
      if (line.json) io.out(JSON.stringify({ text: done.text, reason: done.reason, tokens: done.tokens, prompt: pane.prompt }))
      else write('\n')
      if (done.reason === 'error') io.err(`tunedeck: ${done.message ?? 'the answer failed'}`)
      if (closed) return 1
    }
    return 0
  } finally {
    process.off('SIGINT', onInterrupt)
    for (const stop of stops) stop()
  }
}
