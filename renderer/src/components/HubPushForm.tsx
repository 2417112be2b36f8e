/**
 * The Export section's push to the Hugging Face Hub: the repository (owner/name), private unless
 * the user ticks public, and the button. Uses the Models page's token; what it sends is the
 * export's source as chosen above (merged or not), with the model card as README.md.
 */
import type { Job } from '@shared/jobs'
import { useExportsStore, useJobExport } from '../stores/exports'

export function HubPushForm({ job }: { job: Job }) {
  const state = useJobExport(job.id)
  const { edit, push } = useExportsStore.getState()
  return (
    <div className="export-form hub-push" data-testid="hub-push">
      <label className="field">
        <span className="field-label">Hugging Face repository</span>
        <input
          type="text"
          data-testid="hub-repo"
          value={state.hubRepo}
          placeholder="owner/name"
          disabled={state.running}
          onChange={(event) => edit(job.id, { hubRepo: event.target.value })}
        />
      </label>
      <label className="checkbox">
        <input
          type="checkbox"
          data-testid="hub-public"
          checked={state.hubPublic}
          disabled={state.running}
          onChange={(event) => edit(job.id, { hubPublic: event.target.checked })}
        />
        Public (a new repository is private unless ticked; one that exists keeps its setting)
      </label>
      <div className="row-actions">
        <button
          data-testid="hub-push-start"
          disabled={state.running || state.plan === null || state.hubRepo.trim() === ''}
          onClick={() => void push(job.id)}
        >
          Push to the Hub
        </button>
      </div>
      <p className="muted small">Uses the token saved on the Models page; it needs write access.</p>
      {state.pushResult && (
        <p data-testid="hub-push-result">
          Pushed {state.pushResult.files.length} files to {state.pushResult.repo} ({state.pushResult.private ? 'private' : 'public'}):{' '}
          <span className="mono">{state.pushResult.url}</span>
        </p>
      )}
    </div>
  )
}
