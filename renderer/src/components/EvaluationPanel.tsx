/**
 * The job page's Evaluation section: the base against the tuned model on the job's held-out rows,
 * or on a library dataset chosen under "Rows from" (loss, perplexity, exact match, ROUGE-L, BLEU, and a table of answers). The saved evaluation is
 * shown again when the page is reopened; Evaluate runs a new one with progress, Stop ends it.
 */
import { useEffect, useState } from 'react'
import type { DatasetEntry } from '@shared/datasets'
import type { Evaluation } from '@shared/evaluation'
import type { Job } from '@shared/jobs'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { ProgressBar } from './ProgressBar'

export function EvaluationPanel({ job }: { job: Job }) {
  const [evaluation, setEvaluation] = useState<Evaluation | null>(null)
  const [running, setRunning] = useState(false)
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [rows, setRows] = useState('50')
  const [tokens, setTokens] = useState('128')
  // '' is the job's held-out rows; otherwise a library dataset's id.
  const [dataset, setDataset] = useState('')
  const [datasets, setDatasets] = useState<DatasetEntry[]>([])
  const available = job.status === 'completed' && job.config.method === 'sft'

  useEffect(() => {
    if (!available) return
    let live = true
    getClient()
      .request('jobs.evaluation', { jobId: job.id })
      .then((saved) => live && setEvaluation(saved))
      .catch((failure: unknown) => live && setError(errorMessage(failure)))
    getClient()
      .request('datasets.list', {})
      .then((entries) => live && setDatasets(entries))
      .catch(() => live && setDatasets([])) // the held-out rows stay available
    const stop = getClient().on('job.evaluation_progress', (update) => update.jobId === job.id && setProgress(update))
    return () => {
      live = false
      stop()
    }
  }, [job.id, available])

  if (!available) return null
  const run = async () => {
    setRunning(true)
    setError(null)
    setProgress(null)
    try {
      setEvaluation(
        await getClient().request('jobs.evaluate', {
          jobId: job.id,
          limit: Number(rows) || undefined,
          maxNewTokens: Number(tokens) || undefined,
          dataset: dataset || undefined,
        }),
      )
    } catch (failure) {
      setError(errorMessage(failure))
    } finally {
      setRunning(false)
    }
  }
  const row = (label: string, side: Evaluation['base']) => (
    <tr key={label} data-testid={`evaluation-${label.toLowerCase()}`}>
      <td>{label}</td>
      <td>{side.loss.toFixed(4)}</td>
      <td>{side.perplexity.toFixed(2)}</td>
      <td>{(side.exactMatch * 100).toFixed(1)}%</td>
      <td>{side.rougeL.toFixed(3)}</td>
      <td>{(side.bleu * 100).toFixed(1)}</td>
    </tr>
  )
  return (
    <section className="card evaluation-panel" data-testid="evaluation-panel">
      <h2>Evaluation</h2>
      <div className="row-actions">
        <label className="field">
          <span className="field-label">Rows from</span>
          <select data-testid="evaluation-dataset" value={dataset} disabled={running} onChange={(event) => setDataset(event.target.value)}>
            <option value="">This job&apos;s held-out rows</option>
            {datasets.map((entry) => (
              <option key={entry.id} value={entry.id}>
                {entry.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">Rows</span>
          <input
            type="number"
            min={1}
            max={1000}
            data-testid="evaluation-rows"
            value={rows}
            disabled={running}
            onChange={(event) => setRows(event.target.value)}
          />
        </label>
        <label className="field">
          <span className="field-label">Longest answer (tokens)</span>
          <input
            type="number"
            min={1}
            max={1024}
            data-testid="evaluation-tokens"
            value={tokens}
            disabled={running}
            onChange={(event) => setTokens(event.target.value)}
          />
        </label>
        <button data-testid="evaluation-start" disabled={running} onClick={() => void run()}>
          {running ? 'Evaluating…' : evaluation ? 'Evaluate again' : 'Evaluate base against tuned'}
        </button>
        {running && (
          <button data-testid="evaluation-stop" onClick={() => void getClient().request('jobs.evaluation_cancel', { jobId: job.id })}>
            Stop
          </button>
        )}
      </div>
      {running && progress && (
        <ProgressBar
          value={progress.done / Math.max(1, progress.total)}
          label={`Row ${progress.done} of ${progress.total}`}
          tone="accent"
        />
      )}
      {error && (
        <p className="error-text" data-testid="evaluation-error">
          {error}
        </p>
      )}
      {evaluation && (
        <>
          <p className="muted small">
            {evaluation.rows}{' '}
            {evaluation.source === 'held-out'
              ? 'held-out rows'
              : evaluation.source === 'dataset'
                ? `rows of ${evaluation.datasetPath ?? 'a chosen dataset'}`
                : 'training rows (the job held none out)'}
            , greedy answers of up to {evaluation.maxNewTokens} tokens, {evaluation.date.slice(0, 10)}.
          </p>
          <table className="table" data-testid="evaluation-scores">
            <thead>
              <tr>
                <th>Model</th>
                <th>Loss</th>
                <th>Perplexity</th>
                <th>Exact match</th>
                <th>ROUGE-L</th>
                <th>BLEU</th>
              </tr>
            </thead>
            <tbody>
              {row('Base', evaluation.base)}
              {row('Tuned', evaluation.tuned)}
            </tbody>
          </table>
          <table className="table small" data-testid="evaluation-examples">
            <thead>
              <tr>
                <th>Prompt</th>
                <th>Reference</th>
                <th>Base</th>
                <th>Tuned</th>
              </tr>
            </thead>
            <tbody>
              {evaluation.examples.map((example, index) => (
                <tr key={index}>
                  <td className="mono">{example.prompt}</td>
                  <td>{example.reference}</td>
                  <td>{example.base}</td>
                  <td>{example.tuned}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  )
}
