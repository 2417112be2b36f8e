/**
 * The start page: a one-click self-test and what the machine offers. Until the trainer's
 * Python is ready, the main button leads to Set-up instead (a self-test without Python fails
 * at once).
 */
import { useState } from 'react'
import { errorMessage } from '../api/errors'
import { RemoteHostCard } from '../components/RemoteHostCard'
import { useJobsStore } from '../stores/jobs'
import { useNavigationStore } from '../stores/navigation'
import { useRemoteStore } from '../stores/remote'
import { useSystemStore } from '../stores/system'

/** Shown when no job is open. */
export function HomeView() {
  const info = useSystemStore((state) => state.info)
  const createJob = useJobsStore((state) => state.create)
  const open = useNavigationStore((state) => state.open)
  const remote = useRemoteStore((state) => state.origin)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  // Unknown until system.info answers: then neither button is the main one yet.
  const ready = info ? info.python.found && info.envState === 'ready' : null

  const selftest = async (): Promise<void> => {
    setBusy(true)
    setError(null)
    try {
      const job = await createJob({ model: { selftest: true } })
      open({ name: 'job', jobId: job.id })
    } catch (caught) {
      setError(errorMessage(caught))
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="page home">
      <header className="page-header">
        <h1>Fine-tune a model on your own GPU</h1>
        <p className="muted">LoRA fine-tuning with live loss, GPU readings and the trainer's output, all on this machine.</p>
      </header>
      <div className="grid-2">
        <section className="card">
          <h2>Try it in a minute</h2>
          <p className="muted">
            The self-test trains a tiny model on the CPU for a few steps, to check that Python, torch and the trainer work here.
          </p>
          {ready === false && (
            <p className="notice" data-testid="home-needs-setup">
              {info?.envState === 'installing'
                ? 'The Python environment is being set up; the self-test can run once it is ready.'
                : 'Training needs its Python environment first: set it up once (about 7.4 GB), then run the self-test.'}
            </p>
          )}
          <div className="action-buttons">
            {ready === false && (
              <button className="primary" data-testid="home-setup" onClick={() => open({ name: 'setup' })}>
                {info?.envState === 'installing' ? 'See the set-up' : 'Set up Python'}
              </button>
            )}
            <button
              className={ready === false ? undefined : 'primary'}
              data-testid="home-selftest"
              disabled={busy || ready === false}
              onClick={() => void selftest()}
            >
              {busy ? 'Starting…' : 'Run the self-test'}
            </button>
          </div>
          {error && <p className="error-text">{error}</p>}
        </section>
        <section className="card">
          <h2>{remote ? 'The machine this window drives' : 'This machine'}</h2>
          {!info && <p className="muted">Asking the host…</p>}
          {info && (
            <ul className="plain">
              <li>
                {info.python.found
                  ? `Python ${info.python.version ?? ''} with torch ${info.python.torch ?? 'missing'}`
                  : 'Python is not set up yet.'}
              </li>
              <li>
                {info.gpu.available
                  ? `${info.gpu.gpus.length} GPU${info.gpu.gpus.length === 1 ? '' : 's'}: ${info.gpu.gpus.map((gpu) => gpu.name).join(', ')}`
                  : (info.gpu.reason ?? 'No NVIDIA GPU found.')}
              </li>
              <li className="mono small">{info.dataDir}</li>
            </ul>
          )}
          <button onClick={() => open({ name: 'setup' })}>Python set-up</button>
        </section>
        <RemoteHostCard />
      </div>
    </div>
  )
}
