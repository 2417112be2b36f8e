/**
 * The notice at the top of a new-job form opened from a checkpoint: which job and checkpoint it
 * starts from (its base model and LoRA shape come with it), and whether its optimizer state does too.
 */
import type { StartFrom } from '../stores/navigation'
import type { InitChoice, NewJobFormValues } from '../logic/newJobForm'

interface Props {
  from: StartFrom
  sourceName: string | undefined
  values: NewJobFormValues
  change(initFrom: InitChoice): void
  error?: string
}

export function InitFromNotice({ from, sourceName, values, change, error }: Props) {
  return (
    <div className="notice" data-testid="init-from">
      Starting from <strong>{sourceName ?? from.jobId}</strong> / <span className="mono">{from.checkpoint}</span>: base model and LoRA shape
      come from the checkpoint.
      {values.initFrom && (
        <label
          className="checkbox"
          title="AdamW's moments and step counts carry over, so training on new data goes on without resetting them; the learning rate and schedule are this job's."
        >
          <input
            type="checkbox"
            data-testid="init-optimizer"
            checked={values.initFrom.optimizer}
            onChange={(event) => values.initFrom && change({ ...values.initFrom, optimizer: event.target.checked })}
          />
          Continue its optimizer state too (otherwise a fresh optimizer)
        </label>
      )}
      {error && (
        <div className="field-error" data-testid="field-error-initFrom" role="alert">
          {error}
        </div>
      )}
    </div>
  )
}
