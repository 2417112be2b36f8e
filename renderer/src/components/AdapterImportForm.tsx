/** The Adapters page's import of an adapter zip: by its path, or (in a browser) uploaded by drop or file picker. */
import { useState, type FormEvent } from 'react'
import { getShell } from '../api/client'
import { useAdaptersStore } from '../stores/adapters'

/** Imports an adapter zip into the library; the host checks it before keeping it. */
export function AdapterImportForm() {
  const importZip = useAdaptersStore((state) => state.importZip)
  const uploadZip = useAdaptersStore((state) => state.uploadZip)
  const [dragging, setDragging] = useState(false)
  // In a browser the zip is on this machine, not the server's: it is uploaded (the app reads paths).
  const browser = !getShell()
  const upload = (file: File | undefined): void => {
    if (file) void uploadZip(file)
  }
  const busy = useAdaptersStore((state) => state.busy)
  const [zip, setZip] = useState('')
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault()
    if (await importZip({ path: zip.trim() })) setZip('')
  }
  return (
    <form className="card form" data-testid="import-form" onSubmit={(event) => void submit(event)}>
      <h2>Import a zip</h2>
      <p className="muted small">
        An adapter exported by Tunedeck on another machine, or any zip with adapter_config.json and adapter_model.safetensors. It is checked
        before it is kept.
      </p>
      {browser && (
        <label
          className={`drop-zone${dragging ? ' dragging' : ''}`}
          data-testid="import-drop"
          onDragOver={(event) => {
            event.preventDefault()
            setDragging(true)
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(event) => {
            event.preventDefault()
            setDragging(false)
            upload(event.dataTransfer.files[0])
          }}
        >
          Drop an adapter zip here, or{' '}
          <input
            type="file"
            accept=".zip,application/zip"
            data-testid="import-file"
            disabled={busy !== null}
            onChange={(event) => {
              upload(event.target.files?.[0])
              event.target.value = ''
            }}
          />
        </label>
      )}
      <label>
        {browser ? 'Or a zip already on the server' : 'Zip file'}{' '}
        <input data-testid="import-path" value={zip} placeholder="/home/me/adapter.zip" onChange={(event) => setZip(event.target.value)} />
      </label>
      <button type="submit" data-testid="import-submit" disabled={!zip.trim() || busy !== null}>
        Import
      </button>
    </form>
  )
}
