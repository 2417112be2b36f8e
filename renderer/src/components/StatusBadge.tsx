/** A job's status as a coloured pill; the text is the status itself. */
import type { JobStatus } from '@shared/jobs'

/** Props: the status, and the test id to put on it. */
export function StatusBadge({ status, testId = 'status-badge' }: { status: JobStatus; testId?: string }) {
  return (
    <span className={`badge badge-${status}`} data-testid={testId} data-status={status}>
      {status}
    </span>
  )
}
