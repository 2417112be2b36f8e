/**
 * The dataset library: every imported dataset with its format, rows (usable
 * and bad), size (and its encoded data's in the trainer's cache, with Clear),
 * hash, date and the jobs that trained on it; import by button or by dropping files anywhere on the window (App); a file whose
 * format cannot be told is imported and its Read as… editor opens (format, column mapping, CSV header row); rename, re-check,
 * delete (asking first when jobs used it), preview with token masks, and
 * "Train on it", which opens the new-job form on the dataset.
 */
import { useEffect, useRef, useState } from 'react'
import type { DatasetEntry, DatasetPreview } from '@shared/datasets'
import { getShell } from '../api/client'
import { errorMessage } from '../api/errors'
import { pickedFolder } from '../api/folderUpload'
import { followPreview, type FollowedPreview } from '../api/previews'
import { DatasetPreviewPanel, PreviewReading } from '../components/DatasetPreviewPanel'
import { ProgressBar } from '../components/ProgressBar'
import { TokenMasks } from '../components/TokenMasks'
import { DatasetReadingEditor } from '../components/DatasetReadingEditor'
import type { ReadProgress } from '../logic/datasetPreview'
import { describeReading, readingInput } from '../logic/datasetReading'
import { formatBytes } from '../logic/metrics'
import { useDatasetsStore, type ImportTask } from '../stores/datasets'
import { useNavigationStore } from '../stores/navigation'

const previewSeqLength = 2048

function ImportRow({ task }: { task: ImportTask }) {
  const dismiss = useDatasetsStore((state) => state.dismiss)
  return (
    <li className={`import-task ${task.status}`} data-testid="import-task" data-status={task.status}>
      <span className="mono">{task.name}</span>
      {task.status === 'running' && task.total > 0 && <ProgressBar value={task.sent / task.total} label={`Importing ${task.name}`} />}
      {task.status === 'running' && task.abort && (
        <button className="small" onClick={() => task.abort?.()}>
          Cancel
        </button>
      )}
      {task.message && (
        <span className={task.status === 'failed' ? 'error-text small' : 'muted small'} data-testid="import-message">
          {task.message}
        </span>
      )}
      {task.status !== 'running' && (
        <button className="small" aria-label="Dismiss" onClick={() => dismiss(task.key)}>
          ×
        </button>
      )}
    </li>
  )
}

/** The preview of one library dataset, with the token masks of the default tokenizer; a big file shows how far it has been read and can be stopped. */
function LibraryPreview({ dataset }: { dataset: DatasetEntry }) {
  const [preview, setPreview] = useState<DatasetPreview | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [progress, setProgress] = useState<ReadProgress | null>(null)
  const [running, setRunning] = useState<FollowedPreview | null>(null)
  const [attempt, setAttempt] = useState(0)
  useEffect(() => {
    let current = true
    setPreview(null)
    setError(null)
    setProgress(null)
    const followed = followPreview(
      { path: dataset.path, ...readingInput(dataset.reading), limit: 3, tokens: { maxSeqLength: previewSeqLength, shown: 2 } },
      (read) => current && setProgress(read),
    )
    setRunning(followed)
    followed.result
      .then(
        (answer) => current && setPreview(answer),
        (failure: unknown) => current && setError(errorMessage(failure)),
      )
      .finally(() => current && setRunning(null))
    return () => {
      current = false
      followed.cancel()
    }
  }, [dataset.path, dataset.checkedAt, dataset.reading, attempt])
  if (error) {
    return (
      <p className="error-text small" data-testid="library-preview-error">
        {error}{' '}
        <button className="small" data-testid="dataset-preview-again" onClick={() => setAttempt((count) => count + 1)}>
          Preview again
        </button>
      </p>
    )
  }
  if (!preview) return <PreviewReading path={dataset.name} progress={progress} cancel={() => running?.cancel()} />
  return (
    <div data-testid="library-preview">
      {dataset.reading && (
        <p className="muted small" data-testid="library-reading">
          Kept with the dataset: {describeReading(dataset.reading)}.
        </p>
      )}
      <DatasetPreviewPanel state={{ status: 'done', preview }} />
      {preview.tokens && <TokenMasks tokens={preview.tokens} maxSeqLength={previewSeqLength} />}
      {preview.tokenError && <p className="error-text small">{preview.tokenError}</p>}
    </div>
  )
}

function DatasetRow({ dataset }: { dataset: DatasetEntry }) {
  const { rename, recheck, remove, deleteEncoded } = useDatasetsStore.getState()
  const open = useNavigationStore((state) => state.open)
  const [previewing, setPreviewing] = useState(false)
  // A dataset whose format could not be told at import opens its Read as… editor by itself.
  const [reading, setReading] = useState(dataset.unread !== undefined)
  const remove_ = (): void => {
    const used = dataset.jobs.length
    if (
      used > 0 &&
      !window.confirm(`${dataset.name} was used by ${used} job(s). Remove it from the library? Its file is kept for those jobs.`)
    )
      return
    void remove(dataset.id, used > 0)
  }
  return (
    <>
      <tr data-testid="dataset-row" data-dataset-id={dataset.id}>
        <td>
          <input
            className="dataset-name"
            aria-label="Dataset name"
            defaultValue={dataset.name}
            onBlur={(event) => event.target.value.trim() !== dataset.name && void rename(dataset.id, event.target.value)}
          />
        </td>
        <td data-testid="dataset-format">
          {dataset.unread ? <span className="error-text">not yet known: Read as…</span> : dataset.format}
        </td>
        <td data-testid="dataset-rows">
          {dataset.usable}
          {dataset.bad > 0 && <span className="error-text"> ({dataset.bad} bad)</span>}
        </td>
        <td>
          {formatBytes(dataset.bytes)}
          {dataset.encodedBytes > 0 && (
            <div
              className="muted small"
              data-testid="dataset-encoded"
              title="Token ids a job encoded, read back by later jobs on this dataset and model"
            >
              encoded: {formatBytes(dataset.encodedBytes)}{' '}
              <button className="link small" data-testid="dataset-delete-encoded" onClick={() => void deleteEncoded(dataset.id)}>
                Clear
              </button>
            </div>
          )}
        </td>
        <td className="mono" title={dataset.sha256}>
          {dataset.sha256.slice(0, 12)}
        </td>
        <td>{new Date(dataset.importedAt).toLocaleString()}</td>
        <td>
          {dataset.jobs.map((job) => (
            <button key={job.jobId} className="link small" onClick={() => open({ name: 'job', jobId: job.jobId })}>
              {job.name}
            </button>
          ))}
        </td>
        <td className="row-actions">
          <button className="small" data-testid="dataset-preview-button" onClick={() => setPreviewing(!previewing)}>
            {previewing ? 'Hide' : 'Preview'}
          </button>
          <button className="small primary" data-testid="dataset-train" onClick={() => open({ name: 'new', datasetId: dataset.id })}>
            Train on it
          </button>
          <button className="small" data-testid="dataset-read-as" onClick={() => setReading(!reading)}>
            Read as…
          </button>
          <button className="small" onClick={() => void recheck(dataset.id)}>
            Re-check
          </button>
          <button className="small danger" data-testid="dataset-delete" onClick={remove_}>
            Delete
          </button>
        </td>
      </tr>
      {reading && (
        <tr>
          <td colSpan={8}>
            <DatasetReadingEditor
              dataset={dataset}
              saved={() => {
                setReading(false)
                setPreviewing(true)
                void useDatasetsStore.getState().load()
              }}
            />
          </td>
        </tr>
      )}
      {previewing && (
        <tr>
          <td colSpan={8}>
            <LibraryPreview dataset={dataset} />
          </td>
        </tr>
      )}
    </>
  )
}

/** The library page. */
export function DatasetsView() {
  const { list, loaded, error, imports } = useDatasetsStore()
  const picker = useRef<HTMLInputElement>(null)
  const folderPicker = useRef<HTMLInputElement>(null)
  useEffect(() => {
    void useDatasetsStore.getState().load()
  }, [])
  const pick = async (): Promise<void> => {
    const shell = getShell()
    if (!shell) return picker.current?.click()
    const path = await shell.pickPath('dataset')
    if (path) await useDatasetsStore.getState().importPath(path)
  }
  const pickFolder = async (): Promise<void> => {
    const shell = getShell()
    if (!shell) return folderPicker.current?.click()
    const path = await shell.pickPath('dataset-folder')
    if (path) await useDatasetsStore.getState().importPath(path)
  }
  return (
    <div className="page datasets" data-testid="datasets-page">
      <header className="page-header">
        <h1>Datasets</h1>
        <p className="muted">
          Drop files (or a save_to_disk folder) anywhere on the window, or import them here. The same file twice is one dataset.
        </p>
        <div className="import-buttons">
          <button className="primary" data-testid="dataset-import-button" onClick={() => void pick()}>
            Import…
          </button>
          {/* A file picker takes files or a folder, not both (in a browser, and in Windows' and Linux's dialogs): the folder has its own. */}
          <button data-testid="dataset-import-folder-button" onClick={() => void pickFolder()}>
            Import a save_to_disk folder…
          </button>
        </div>
        <input
          ref={picker}
          type="file"
          multiple
          hidden
          data-testid="dataset-file-input"
          onChange={(event) => event.target.files && void useDatasetsStore.getState().importFiles([...event.target.files])}
        />
        <input
          ref={folderPicker}
          type="file"
          hidden
          data-testid="dataset-folder-input"
          {...{ webkitdirectory: '' }}
          onChange={(event) => {
            const folder = pickedFolder([...(event.target.files ?? [])])
            if (folder) void useDatasetsStore.getState().importFolder(folder.name, folder.files)
            event.target.value = ''
          }}
        />
      </header>
      {imports.length > 0 && (
        <ul className="plain import-tasks">
          {imports.map((task) => (
            <ImportRow key={task.key} task={task} />
          ))}
        </ul>
      )}
      {error && (
        <p className="error-text" data-testid="datasets-error">
          {error}
        </p>
      )}
      {loaded && list.length === 0 && <p className="muted">No datasets yet.</p>}
      {list.length > 0 && (
        <table className="datasets-table" data-testid="datasets-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Format</th>
              <th>Rows</th>
              <th>Size</th>
              <th>SHA-256</th>
              <th>Imported</th>
              <th>Jobs</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((dataset) => (
              <DatasetRow key={dataset.id} dataset={dataset} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
