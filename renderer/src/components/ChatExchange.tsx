/** One question and its answers side by side, each streaming, with the exact prompt on request. */
import { chatPanes } from '@shared/chat'
import type { Exchange, PaneAnswer } from '../logic/chat'

const reasonText: Record<string, string> = {
  eos: 'finished',
  length: 'max new tokens reached',
  stop: 'stop text reached',
  stopped: 'stopped',
  error: 'failed',
}

function Answer({ answer, showPrompt }: { answer: PaneAnswer; showPrompt: boolean }) {
  const streaming = answer.reason === null
  return (
    <div className="chat-answer" data-testid="chat-pane" data-label={answer.label} data-state={streaming ? 'streaming' : answer.reason}>
      <div className="chat-answer-head">
        <span className="chat-answer-label">{answer.label}</span>
        <span className={`muted small${answer.reason === 'error' ? ' error-text' : ''}`} data-testid="chat-pane-reason">
          {streaming ? 'generating…' : (reasonText[answer.reason ?? ''] ?? answer.reason)}
        </span>
      </div>
      <div className="chat-answer-text" data-testid="chat-pane-text">
        {answer.text}
        {streaming && <span className="chat-caret" aria-hidden="true" />}
      </div>
      {answer.note && (
        <p className="muted small" data-testid="chat-pane-note">
          {answer.note}
        </p>
      )}
      {answer.message && (
        <p className="error-text small" data-testid="chat-pane-message">
          {answer.message}
        </p>
      )}
      {showPrompt && answer.prompt !== null && (
        <pre className="chat-prompt" data-testid="chat-prompt" title="The exact text the model was given">
          {answer.prompt}
        </pre>
      )}
    </div>
  )
}

/** A question, then one column per pane. */
export function ChatExchange({ exchange, showPrompts }: { exchange: Exchange; showPrompts: boolean }) {
  const answers = chatPanes.map((pane) => exchange.panes[pane]).filter((answer): answer is PaneAnswer => answer !== undefined)
  return (
    <div className="chat-exchange" data-testid="chat-exchange">
      <div className="chat-question" data-testid="chat-question">
        {exchange.question}
      </div>
      <div className={`chat-answers${answers.length > 1 ? ' side-by-side' : ''}`}>
        {answers.map((answer, index) => (
          <Answer key={answer.generationId ?? index} answer={answer} showPrompt={showPrompts} />
        ))}
      </div>
    </div>
  )
}
