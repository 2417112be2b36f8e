/**
 * The environment doctor on the Set-up page: one line per check with its verdict, what was
 * found and what to do, and a Repair button where Tunedeck can fix it itself.
 */
import { useEffect } from 'react'
import type { DoctorCheck } from '@shared/doctor'
import { useDoctorStore } from '../stores/doctor'
import { useSystemStore } from '../stores/system'

const verdictText: Record<DoctorCheck['verdict'], string> = { ok: 'OK', warning: 'Warning', problem: 'Problem', skipped: 'Skipped' }

function CheckRow({ check, busy }: { check: DoctorCheck; busy: boolean }) {
  const repair = useDoctorStore((state) => state.repair)
  const repairing = useDoctorStore((state) => state.repairing)
  return (
    <li className={`doctor-check doctor-${check.verdict}`} data-testid="doctor-check" data-check={check.id} data-verdict={check.verdict}>
      <span className={`verdict verdict-${check.verdict}`}>{verdictText[check.verdict]}</span>
      <div className="doctor-text">
        <strong>{check.title}</strong>
        <span data-testid="doctor-summary">{check.summary}</span>
        {check.action && <span className="muted">{check.action}</span>}
      </div>
      {check.repair && check.verdict !== 'ok' && check.verdict !== 'skipped' && (
        <button className="small" data-testid="doctor-repair" title={check.repair} disabled={busy} onClick={() => void repair(check.id)}>
          {repairing === check.id ? 'Repairing…' : 'Repair'}
        </button>
      )}
    </li>
  )
}

/** Examines on first view; "Check again" on demand. */
export function DoctorPanel() {
  const report = useDoctorStore((state) => state.report)
  const examining = useDoctorStore((state) => state.examining)
  const error = useDoctorStore((state) => state.error)
  const examine = useDoctorStore((state) => state.examine)
  const installing = useSystemStore((state) => state.setup?.state === 'installing')

  useEffect(() => {
    if (!useDoctorStore.getState().report) void useDoctorStore.getState().examine()
  }, [])

  const problems = report?.checks.filter((check) => check.verdict === 'problem').length ?? 0
  return (
    <section className="card" data-testid="doctor">
      <div className="title-row">
        <h2>Environment check</h2>
        {report && (
          <span className={problems > 0 ? 'error-text' : 'muted'} data-testid="doctor-verdict">
            {problems > 0 ? `${problems} problem${problems === 1 ? '' : 's'} to fix` : 'Ready to train'}
          </span>
        )}
        <button className="small push-right" data-testid="doctor-examine" disabled={examining || installing} onClick={() => void examine()}>
          {examining ? 'Checking…' : 'Check again'}
        </button>
      </div>
      <p className="muted small">
        Python, the pinned packages, torch against this GPU and driver, QLoRA support, disk space and a short CUDA test.
      </p>
      {error && <p className="error-text">{error}</p>}
      {!report && examining && <p className="muted">Examining the environment (importing torch takes a few seconds)…</p>}
      {report && (
        <ul className="doctor-list">
          {report.checks.map((check) => (
            <CheckRow key={check.id} check={check} busy={installing || examining} />
          ))}
        </ul>
      )}
      {report && <p className="muted small">Checked in {(report.milliseconds / 1000).toFixed(1)} s.</p>}
    </section>
  )
}
