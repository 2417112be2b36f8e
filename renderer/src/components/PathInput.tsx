/**
 * A path field of the new-job form: typed, chosen with Browse… (desktop app only), or filled by
 * dropping a file on it (its full path, in the desktop app).
 */
import type { DragEvent } from 'react'
import { getShell } from '../api/client'

interface Props {
  testId: string
  value: string
  placeholder: string
  disabled: boolean
  kind: 'dataset' | 'model-folder'
  change(value: string): void
}

export function PathInput({ testId, value, placeholder, disabled, kind, change }: Props) {
  const shell = getShell()
  const browse = async (): Promise<void> => {
    const chosen = await shell?.pickPath(kind)
    if (chosen) change(chosen)
  }
  const drop = (event: DragEvent<HTMLInputElement>): void => {
    const file = event.dataTransfer.files[0]
    if (!shell || !file) return
    event.preventDefault()
    change(shell.pathForFile(file))
  }
  return (
    <span className="path-input">
      <input
        data-testid={testId}
        value={value}
        disabled={disabled}
        placeholder={placeholder}
        onChange={(event) => change(event.target.value)}
        onDrop={drop}
      />
      {shell && (
        <button type="button" disabled={disabled} onClick={() => void browse()}>
          Browse…
        </button>
      )}
    </span>
  )
}
