/** The answer settings (the same for both panes): system prompt, temperature, top-p, max new tokens, seed, stop texts. */
import { useState } from 'react'
import type { ChatSettings } from '@shared/chat'
import { parseStops } from '../logic/chat'

function NumberSetting({
  label,
  value,
  min,
  max,
  step,
  onChange,
  testId,
}: {
  label: string
  value: number
  min: number
  max: number
  step: number
  onChange: (value: number) => void
  testId: string
}) {
  return (
    <label className="chat-setting">
      <span>{label}</span>
      <input
        type="number"
        data-testid={testId}
        value={value}
        min={min}
        max={max}
        step={step}
        onChange={(event) => {
          const parsed = Number(event.target.value)
          if (event.target.value !== '' && Number.isFinite(parsed)) onChange(Math.min(max, Math.max(min, parsed)))
        }}
      />
    </label>
  )
}

/** Edits the settings the next question is asked with. */
export function ChatSettingsPanel({ settings, onChange }: { settings: ChatSettings; onChange: (change: Partial<ChatSettings>) => void }) {
  const [stops, setStops] = useState(settings.stop.join('\n'))
  return (
    <details className="card chat-settings" data-testid="chat-settings">
      <summary>Settings</summary>
      <label className="chat-setting wide">
        <span>System prompt</span>
        <textarea
          data-testid="chat-system-prompt"
          rows={2}
          value={settings.systemPrompt}
          onChange={(event) => onChange({ systemPrompt: event.target.value })}
        />
      </label>
      <div className="chat-settings-row">
        <NumberSetting
          label="Temperature (0: greedy)"
          testId="chat-temperature"
          value={settings.temperature}
          min={0}
          max={2}
          step={0.05}
          onChange={(temperature) => onChange({ temperature })}
        />
        <NumberSetting
          label="Top-p"
          testId="chat-top-p"
          value={settings.topP}
          min={0.01}
          max={1}
          step={0.01}
          onChange={(topP) => onChange({ topP })}
        />
        <NumberSetting
          label="Max new tokens"
          testId="chat-max-tokens"
          value={settings.maxNewTokens}
          min={1}
          max={8192}
          step={1}
          onChange={(maxNewTokens) => onChange({ maxNewTokens: Math.round(maxNewTokens) })}
        />
        <NumberSetting
          label="Seed"
          testId="chat-seed"
          value={settings.seed}
          min={0}
          max={2 ** 31 - 1}
          step={1}
          onChange={(seed) => onChange({ seed: Math.round(seed) })}
        />
      </div>
      <label className="chat-setting wide">
        <span>Stop texts, one a line</span>
        <textarea
          data-testid="chat-stop-texts"
          rows={2}
          value={stops}
          onChange={(event) => {
            setStops(event.target.value)
            onChange({ stop: parseStops(event.target.value).slice(0, 8) })
          }}
        />
      </label>
    </details>
  )
}
