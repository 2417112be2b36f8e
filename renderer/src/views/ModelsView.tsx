/**
 * The Models page: models on this machine (the Hugging Face cache and added folders) with what
 * their files say and, on request, whether they train on this GPU; downloads from the Hub with
 * progress and cancel; the Hub token; the list of suggested hub ids.
 */
import { useEffect, useState } from 'react'
import { hubIdSchema, type ModelSummary } from '@shared/models'
import { getClient, getShell } from '../api/client'
import { ProgressBar } from '../components/ProgressBar'
import { downloadLine, fitLabel, formatParameters } from '../logic/models'
import { formatBytes } from '../logic/metrics'
import { useModelsStore } from '../stores/models'

// One empty list: a selector that returns a new [] each time makes zustand render forever.
const none: string[] = []

function ModelRow({ model }: { model: ModelSummary }) {
  // The defaults' estimate of every model comes in one go (models.fit); "Check memory" asks for one.
  const estimated = useModelsStore((state) => state.fits['']?.[model.path])
  const estimating = useModelsStore((state) => state.fitting[''] === true)
  const inspected = useModelsStore((state) => state.details[model.path])
  const fit = estimated?.fit ?? inspected?.fit ?? null
  const packing = estimated ? estimated.packing : inspected ? inspected.packing : undefined
  const inspecting = useModelsStore((state) => state.inspecting[model.path] ?? false)
  const inspectError = useModelsStore((state) => state.inspectErrors[model.path])
  const inspect = useModelsStore((state) => state.inspect)
  const removeFolder = useModelsStore((state) => state.removeFolder)
  const folders = useModelsStore((state) => state.library?.folders ?? none)
  const addedFolder = folders.find((folder) => folder === model.path)
  return (
    <tr data-testid="model-row" data-model-path={model.path}>
      <td>
        <div className="mono" title={model.path}>
          {model.name}
        </div>
        <div className="muted small">{model.source === 'hub-cache' ? 'Hugging Face cache' : model.path}</div>
        {model.problems.length > 0 && <div className="error-text small">{model.problems.join('; ')}</div>}
      </td>
      <td>{model.architecture ?? 'unknown'}</td>
      <td data-testid="model-parameters">{formatParameters(model.parameters)}</td>
      <td>{model.dtype ?? '—'}</td>
      <td>{formatBytes(model.bytes)}</td>
      <td>{model.chatTemplate ? 'yes' : 'no'}</td>
      <td className="small">
        <div>label-only loss: {model.labelOnlyLoss ? 'yes' : 'no'}</div>
        <div>packing: {packing === undefined ? '—' : packing === null ? 'unknown' : packing ? 'yes' : 'no'}</div>
      </td>
      <td className="small" data-testid="model-fit">
        {fit ? (
          <>
            <div className={`fit-${fit.lora.verdict ?? 'none'}`}>{fitLabel('lora', fit)}</div>
            <div className={`fit-${fit.qlora.verdict ?? 'none'}`}>{fitLabel('qlora', fit)}</div>
          </>
        ) : estimating || inspecting ? (
          <span className="muted">Estimating…</span>
        ) : (
          <button className="small" data-testid="model-inspect" onClick={() => void inspect(model)}>
            Check memory
          </button>
        )}
        {inspectError && <div className="error-text">{inspectError}</div>}
        {addedFolder && (
          <button className="small" onClick={() => void removeFolder(addedFolder)}>
            Remove folder
          </button>
        )}
      </td>
    </tr>
  )
}

function Downloads() {
  const downloads = useModelsStore((state) => state.downloads)
  const cancel = useModelsStore((state) => state.cancel)
  const entries = Object.values(downloads)
  if (entries.length === 0) return null
  return (
    <ul className="download-list" data-testid="download-list">
      {entries.map((progress) => (
        <li key={`${progress.kind}:${progress.hubId}`} data-testid="download" data-hub-id={progress.hubId} data-state={progress.state}>
          <div className="download-top">
            <span className="mono">{progress.hubId}</span>
            {(progress.state === 'downloading' || progress.state === 'starting') && (
              <button className="small" data-testid="download-cancel" onClick={() => void cancel(progress.hubId, progress.kind)}>
                Cancel
              </button>
            )}
          </div>
          <ProgressBar
            value={progress.totalBytes > 0 ? progress.doneBytes / progress.totalBytes : 0}
            label={`${progress.hubId} download`}
            tone={progress.state === 'failed' ? 'danger' : progress.state === 'done' ? 'ok' : 'accent'}
          />
          <div className={`small ${progress.state === 'failed' ? 'error-text' : 'muted'}`} data-testid="download-status">
            {downloadLine(progress)}
            {progress.error?.url && (
              <>
                {' '}
                <a href={progress.error.url} target="_blank" rel="noreferrer">
                  Open the model's page
                </a>
              </>
            )}
          </div>
        </li>
      ))}
    </ul>
  )
}

function DownloadForm() {
  const popular = useModelsStore((state) => state.library?.popular ?? none)
  const download = useModelsStore((state) => state.download)
  const setPopular = useModelsStore((state) => state.setPopular)
  const [hubId, setHubId] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const [editing, setEditing] = useState(false)
  const [popularText, setPopularText] = useState('')
  const start = (value: string) => {
    const parsed = hubIdSchema.safeParse(value)
    if (!parsed.success) return setProblem(`Hub id: ${parsed.error.issues[0]?.message ?? 'owner/name'}`)
    setProblem(null)
    void download(parsed.data)
  }
  return (
    <section className="card">
      <h2>Download from the Hugging Face Hub</h2>
      <p className="muted small">
        Only what a fine-tune needs: safetensors weights, config, tokenizer and generation config. A stopped download continues where it
        left off.
      </p>
      <div className="path-input">
        <input
          data-testid="hub-id"
          list="popular-models"
          placeholder="owner/name, e.g. Qwen/Qwen2.5-0.5B-Instruct"
          value={hubId}
          onChange={(event) => setHubId(event.target.value)}
        />
        <datalist id="popular-models">
          {popular.map((id) => (
            <option key={id} value={id} />
          ))}
        </datalist>
        <button className="primary" data-testid="download-start" onClick={() => start(hubId)}>
          Download
        </button>
      </div>
      {problem && (
        <div className="field-error" role="alert">
          {problem}
        </div>
      )}
      <div className="chips">
        {popular.map((id) => (
          <button key={id} className="small chip" onClick={() => start(id)} title={`Download ${id}`}>
            {id}
          </button>
        ))}
        <button
          className="small"
          onClick={() => {
            setPopularText(popular.join('\n'))
            setEditing(!editing)
          }}
        >
          {editing ? 'Close' : 'Edit list'}
        </button>
      </div>
      {editing && (
        <div>
          <textarea
            rows={6}
            className="mono"
            value={popularText}
            onChange={(event) => setPopularText(event.target.value)}
            aria-label="Suggested hub ids, one a line"
          />
          <button
            className="small"
            onClick={() => {
              void setPopular(
                popularText
                  .split('\n')
                  .map((line) => line.trim())
                  .filter(Boolean),
              )
              setEditing(false)
            }}
          >
            Save list
          </button>
        </div>
      )}
      <Downloads />
    </section>
  )
}

function TokenForm() {
  const token = useModelsStore((state) => state.token)
  const setToken = useModelsStore((state) => state.setToken)
  const [value, setValue] = useState('')
  return (
    <section className="card">
      <h2>Hugging Face token</h2>
      <p className="muted small">
        For gated and private models. {token?.stored ? 'A token is stored' : 'No token is stored yet'}
        {token &&
          (token.storage === 'os-encrypted'
            ? '; it is kept encrypted by the operating system.'
            : '; it is kept in a file only your user can read.')}
      </p>
      <div className="path-input">
        <input
          type="password"
          data-testid="hf-token"
          placeholder="hf_…"
          value={value}
          autoComplete="off"
          onChange={(event) => setValue(event.target.value)}
        />
        <button
          disabled={value.trim().length < 8}
          onClick={() => {
            void setToken(value.trim())
            setValue('')
          }}
        >
          Save token
        </button>
        {token?.stored && <button onClick={() => void setToken(null)}>Forget</button>}
      </div>
    </section>
  )
}

/** The page. */
export function ModelsView() {
  const library = useModelsStore((state) => state.library)
  const loading = useModelsStore((state) => state.loading)
  const error = useModelsStore((state) => state.error)
  const load = useModelsStore((state) => state.load)
  const addFolder = useModelsStore((state) => state.addFolder)
  const [folder, setFolder] = useState('')
  const shell = getShell()

  const fitFor = useModelsStore((state) => state.fitFor)

  // The models listed, as one string: their estimates are asked for again when it changes.
  const listed = library?.models.map((model) => model.path).join('\n') ?? ''

  useEffect(() => {
    void load()
    return getClient().on('models.progress', (progress) => useModelsStore.getState().applyProgress(progress))
  }, [load])

  useEffect(() => {
    if (listed !== '') void fitFor(undefined, true)
  }, [listed, fitFor])

  return (
    <div className="page" data-testid="models-page">
      <header className="page-header">
        <div className="title-row">
          <h1>Models</h1>
          <button className="small" onClick={() => void load()} disabled={loading}>
            {loading ? 'Reading…' : 'Refresh'}
          </button>
        </div>
      </header>
      {error && (
        <div className="form-error" role="alert">
          {error}
        </div>
      )}
      <section className="card">
        <h2>On this machine</h2>
        <p className="muted small">
          The Hugging Face cache {library && <span className="mono">{library.cacheDir}</span>} and the folders you add. Memory is the
          trainer's estimate at the default settings.
        </p>
        <div className="path-input">
          <input
            data-testid="model-folder"
            placeholder="/models or /models/Qwen2.5-0.5B"
            value={folder}
            onChange={(event) => setFolder(event.target.value)}
          />
          {shell && (
            <button onClick={() => void shell.pickPath('model-folder').then((chosen) => chosen && setFolder(chosen))}>Browse…</button>
          )}
          <button
            disabled={folder.trim() === ''}
            onClick={() => {
              void addFolder(folder.trim())
              setFolder('')
            }}
          >
            Add folder
          </button>
        </div>
        {library && library.models.length === 0 && <p className="muted">No models yet: download one below or add a folder.</p>}
        {library && library.models.length > 0 && (
          <table className="model-table" data-testid="model-table">
            <thead>
              <tr>
                <th>Model</th>
                <th>Architecture</th>
                <th>Parameters</th>
                <th>dtype</th>
                <th>On disk</th>
                <th>Chat template</th>
                <th>Fast paths</th>
                <th>GPU memory</th>
              </tr>
            </thead>
            <tbody>
              {library.models.map((model) => (
                <ModelRow key={model.path} model={model} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      <DownloadForm />
      <TokenForm />
    </div>
  )
}
