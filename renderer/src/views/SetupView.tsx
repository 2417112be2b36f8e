/** Python set-up: what system.info found, and a button that creates the environment with pip. */
import { useEffect, useRef } from 'react'
import { DoctorPanel } from '../components/DoctorPanel'
import { ProgressBar } from '../components/ProgressBar'
import { useSystemStore } from '../stores/system'

function Row({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="kv">
      <span className="kv-key">{label}</span>
      <span className="kv-value mono" data-testid={testId}>
        {value}
      </span>
    </div>
  )
}

/** The set-up page. */
export function SetupView() {
  const info = useSystemStore((state) => state.info)
  const infoError = useSystemStore((state) => state.infoError)
  const setup = useSystemStore((state) => state.setup)
  const log = useSystemStore((state) => state.setupLog)
  const setupError = useSystemStore((state) => state.setupError)
  const startSetup = useSystemStore((state) => state.startSetup)
  const logBox = useRef<HTMLPreElement>(null)

  useEffect(() => {
    if (logBox.current) logBox.current.scrollTop = logBox.current.scrollHeight
  }, [log])

  const installing = setup?.state === 'installing' || info?.envState === 'installing'
  const python = info?.python

  return (
    <div className="page">
      <header className="page-header">
        <h1>Python environment</h1>
        <p className="muted">Training runs in a Python environment with torch, transformers and peft.</p>
      </header>
      {infoError && <p className="error-text">{infoError}</p>}
      {info && python && (
        <section className="card" data-testid="python-info">
          <h2>
            {python.found ? 'Python found' : 'Python not found'} <span className={`dot ${python.found ? 'dot-ok' : 'dot-warn'}`} />
          </h2>
          {python.error && <p className="error-text">{python.error}</p>}
          <Row label="Interpreter" value={python.path ?? 'none'} testId="python-path" />
          <Row
            label="From"
            value={
              python.source === 'env' ? 'TUNEDECK_PYTHON' : python.source === 'venv' ? 'the environment Tunedeck created' : 'nowhere yet'
            }
          />
          <Row label="Version" value={python.version ?? '—'} testId="python-version" />
          <Row label="torch" value={python.torch ?? 'not installed'} testId="python-torch" />
          <Row
            label="CUDA"
            value={
              python.cudaAvailable ? `available (${python.cudaVersion ?? 'version unknown'})` : 'not available: training runs on the CPU'
            }
          />
          <Row label="Environment" value={info.envState} testId="python-env-state" />
          <Row label="Data folder" value={info.dataDir} />
        </section>
      )}
      <DoctorPanel />
      <section className="card">
        <h2>Set up the environment</h2>
        <p className="muted">
          Creates a virtual environment in the data folder and installs the pinned trainer requirements with pip. It needs an internet
          connection and about 7.4 GB of disk (PyTorch with CUDA is most of it).
        </p>
        <button className="primary" data-testid="python-setup" disabled={installing} onClick={() => void startSetup()}>
          {installing ? 'Setting up…' : info?.envState === 'ready' ? 'Set up again' : 'Set up Python environment'}
        </button>
        {setupError && (
          <p className="error-text" data-testid="python-setup-error">
            {setupError}
          </p>
        )}
        {setup && (
          <div className="setup-progress" data-testid="python-setup-progress" data-state={setup.state}>
            <ProgressBar
              value={setup.progress}
              label="Set-up progress"
              tone={setup.state === 'failed' ? 'danger' : setup.state === 'ready' ? 'ok' : 'accent'}
            />
            <span className="muted small">
              {setup.state} · {Math.round(setup.progress * 100)}%
            </span>
            {setup.error && <p className="error-text">{setup.error}</p>}
          </div>
        )}
        {log && (
          <pre className="log" ref={logBox} data-testid="python-setup-log">
            {log}
          </pre>
        )}
      </section>
    </div>
  )
}
