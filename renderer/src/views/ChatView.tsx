/**
 * The Chat page: pick a trained adapter (reached from the sidebar, a job page, a checkpoint
 * row or the Adapters page), ask it, and read its answer beside the base model's (or another adapter's) as both
 * stream. Conversations are kept per adapter; Stop ends the answers at once.
 */
import { Fragment, useEffect, useRef, useState } from 'react'
import type { ChatSource } from '@shared/chat'
import { getClient } from '../api/client'
import { ChatExchange } from '../components/ChatExchange'
import { ChatSettingsPanel } from '../components/ChatSettingsPanel'
import { chatSources, sourceBase, sourceFromKey, sourceKey, sourceLabel } from '../logic/chat'
import { useAdaptersStore } from '../stores/adapters'
import { isAnswering, startChatSync, useChatStore } from '../stores/chat'
import { useJobsStore } from '../stores/jobs'
import { useNavigationStore } from '../stores/navigation'

function ChatStatusBar() {
  const status = useChatStore((state) => state.status)
  const restart = useChatStore((state) => state.restart)
  const unload = useChatStore((state) => state.unload)
  const setIdle = useChatStore((state) => state.setIdle)
  if (!status) return null
  const words = { stopped: 'Not loaded', starting: 'Starting…', loading: 'Loading…', ready: 'Ready', failed: 'The chat process died' }[
    status.state
  ]
  return (
    <div className="chat-status" data-testid="chat-status" data-state={status.state}>
      <span className={status.state === 'failed' ? 'error-text' : ''}>{words}</span>
      {status.loaded && <span className="muted small">{status.loaded}</span>}
      {status.device && (
        <span className="tag" data-testid="chat-device">
          {status.device === 'cuda' ? 'GPU' : 'CPU'}
        </span>
      )}
      {status.state === 'failed' && (
        <button className="small primary" data-testid="chat-restart" onClick={() => void restart()}>
          Restart chat
        </button>
      )}
      {(status.state === 'ready' || status.state === 'loading') && (
        <button className="small" data-testid="chat-unload" onClick={() => void unload()}>
          Unload
        </button>
      )}
      <label className="muted small chat-idle">
        Unload after
        <input
          type="number"
          min={1}
          max={1440}
          data-testid="chat-idle-minutes"
          defaultValue={status.idleMinutes}
          onBlur={(event) => {
            const minutes = Math.round(Number(event.target.value))
            if (minutes >= 1 && minutes <= 1440 && minutes !== status.idleMinutes) void setIdle(minutes)
          }}
        />
        idle minutes
      </label>
    </div>
  )
}

function SourcePicker({ source }: { source: ChatSource | null }) {
  const jobs = useJobsStore((state) => state.list)
  const adapters = useAdaptersStore((state) => state.list)
  const open = useNavigationStore((state) => state.open)
  const compare = useChatStore((state) => state.compare)
  const setCompare = useChatStore((state) => state.setCompare)
  const known = { jobs, adapters }
  const usable = chatSources(known)
  const base = source ? sourceBase(known, source) : undefined
  const chosen = source ? sourceKey(source) : ''
  const siblings = usable.filter((option) => sourceKey(option.source) !== chosen && option.base === base)
  const compareValue = compare === null ? 'none' : compare === 'base' ? 'base' : sourceKey(compare)
  return (
    <div className="chat-pickers">
      <label>
        Adapter{' '}
        <select
          data-testid="chat-source"
          value={chosen}
          onChange={(event) => {
            const picked = sourceFromKey(event.target.value)
            if (picked) open({ name: 'chat', source: picked })
          }}
        >
          <option value="">Pick a completed job or a library adapter…</option>
          {source && !usable.some((option) => sourceKey(option.source) === chosen) && (
            <option value={chosen}>{sourceLabel(known, source)}</option>
          )}
          {usable.map((option) => (
            <option key={sourceKey(option.source)} value={sourceKey(option.source)}>
              {option.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Beside it{' '}
        <select
          data-testid="chat-compare"
          value={compareValue}
          onChange={(event) => {
            const value = event.target.value
            setCompare(value === 'none' ? null : value === 'base' ? 'base' : sourceFromKey(value))
          }}
        >
          <option value="base">The base model (adapter off)</option>
          <option value="none">Nothing</option>
          {siblings.map((option) => (
            <option key={sourceKey(option.source)} value={sourceKey(option.source)}>
              {option.label}
            </option>
          ))}
        </select>
      </label>
    </div>
  )
}

function Conversations() {
  const conversations = useChatStore((state) => state.conversations)
  const current = useChatStore((state) => state.conversationId)
  const openConversation = useChatStore((state) => state.openConversation)
  const newConversation = useChatStore((state) => state.newConversation)
  const remove = useChatStore((state) => state.deleteConversation)
  return (
    <aside className="chat-conversations card">
      <button className="small wide" data-testid="chat-new" onClick={newConversation}>
        + New conversation
      </button>
      <ul>
        {conversations.map((conversation) => (
          <li key={conversation.id} className={conversation.id === current ? 'selected' : ''}>
            <button
              className="link"
              data-testid="chat-conversation"
              title={new Date(conversation.updatedAt).toLocaleString()}
              onClick={() => void openConversation(conversation.id)}
            >
              {conversation.title}
            </button>
            <button className="small danger-quiet" aria-label={`Delete ${conversation.title}`} onClick={() => void remove(conversation.id)}>
              ×
            </button>
          </li>
        ))}
      </ul>
      {conversations.length === 0 && <p className="muted small">No conversations with this adapter yet.</p>}
    </aside>
  )
}

function Composer() {
  const [text, setText] = useState('')
  const send = useChatStore((state) => state.send)
  const stop = useChatStore((state) => state.stop)
  const sending = useChatStore((state) => state.sending)
  const answering = useChatStore((state) => isAnswering(state.exchanges))
  const source = useChatStore((state) => state.source)
  const submit = async () => {
    if (text.trim() && (await send(text))) setText('')
  }
  return (
    <div className="chat-composer">
      <textarea
        data-testid="chat-input"
        rows={3}
        placeholder={source ? 'Ask something (Enter sends, Shift+Enter for a new line)' : 'Pick an adapter first'}
        value={text}
        disabled={!source}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && !event.shiftKey) {
            event.preventDefault()
            if (!answering) void submit()
          }
        }}
      />
      {answering ? (
        <button className="danger" data-testid="chat-stop" onClick={() => void stop()}>
          Stop answering
        </button>
      ) : (
        <button className="primary" data-testid="chat-send" disabled={!source || sending || !text.trim()} onClick={() => void submit()}>
          {sending ? 'Loading…' : 'Send'}
        </button>
      )}
    </div>
  )
}

/** The page; `source` comes from the address (#/chat/<job>[/<checkpoint>] or #/chat/adapter/<id>). */
export function ChatView({ source }: { source: ChatSource | null }) {
  const choose = useChatStore((state) => state.choose)
  const exchanges = useChatStore((state) => state.exchanges)
  const notices = useChatStore((state) => state.notices)
  const error = useChatStore((state) => state.error)
  const settings = useChatStore((state) => state.settings)
  const editSettings = useChatStore((state) => state.editSettings)
  const showPrompts = useChatStore((state) => state.showPrompts)
  const togglePrompts = useChatStore((state) => state.togglePrompts)
  const log = useRef<HTMLDivElement>(null)
  const loadAdapters = useAdaptersStore((state) => state.load)
  useEffect(() => startChatSync(getClient()), [])
  useEffect(() => void loadAdapters().catch(() => undefined), [loadAdapters])
  useEffect(() => void choose(source), [choose, source])
  useEffect(() => {
    log.current?.scrollTo({ top: log.current.scrollHeight })
  }, [exchanges, notices])
  return (
    <div className="page chat-page" data-testid="chat-view">
      <header className="page-header">
        <div className="title-row">
          <h1>Chat</h1>
        </div>
        <SourcePicker source={source} />
        <ChatStatusBar />
      </header>
      <div className="chat-layout">
        <Conversations />
        <section className="chat-main">
          <ChatSettingsPanel settings={settings} onChange={editSettings} />
          <label className="muted small">
            <input type="checkbox" data-testid="chat-prompt-toggle" checked={showPrompts} onChange={togglePrompts} /> Show the exact prompt
            sent to the model
          </label>
          <div className="chat-log card" ref={log} data-testid="chat-log">
            {exchanges.length === 0 && (
              <p className="muted">
                {source ? 'Ask a question: the answers stream here.' : 'Pick an adapter above, or open Chat from a job page.'}
              </p>
            )}
            {/* Each notice goes where it happened: after the exchanges there were then. */}
            {[...exchanges, null].map((exchange, index) => (
              <Fragment key={index}>
                {notices
                  .filter((notice) => notice.after === index)
                  .map((notice, position) => (
                    <p key={position} className="chat-notice" data-testid="chat-notice">
                      {notice.text}
                    </p>
                  ))}
                {exchange && <ChatExchange exchange={exchange} showPrompts={showPrompts} />}
              </Fragment>
            ))}
          </div>
          {error && (
            <p className="error-text" data-testid="chat-error">
              {error}
            </p>
          )}
          <Composer />
        </section>
      </div>
    </div>
  )
}
