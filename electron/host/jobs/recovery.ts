/**
 * Crash recovery, run once when the service starts: no trainer from an
 * earlier host keeps running unsupervised, every event it wrote is ingested,
 * and a job whose trainer is gone without a final event becomes interrupted.
 */
import path from 'node:path'
import { liveStatuses } from '@shared/jobs'
import type { JobRecord, Store } from '../store'
import { readEvents } from '../trainer/tailer'
import { TerminalLog } from '../trainer/terminal'
import { isSameProcessAlive, killProcessTree, readStat, waitForTreeGone } from '../trainer/tree'
import { removeTemporaryCheckpoints } from './checkpoints'
import { ingestEvents } from './ingest'
import { reduce } from './lifecycle'

/** Recovers every job left live by an earlier run; returns the records it changed. */
export async function recoverJobs(store: Store, jobDir: (id: string) => string): Promise<JobRecord[]> {
  const changed: JobRecord[] = []
  for (const record of store.jobs.withStatus(liveStatuses)) {
    const dir = jobDir(record.id)
    if (record.pid !== null && isSameProcessAlive(record.pid, record.pidStartTime)) {
      await killOrphan(record.pid, record.pidStartTime)
      new TerminalLog(dir).append(`\r\n[tunedeck host] a trainer (pid ${record.pid}) left by an earlier run was stopped\r\n`)
    }
    const batch = readEvents(path.join(dir, 'events.jsonl'), 0, () => undefined)
    ingestEvents(store, record.id, dir, batch.events, batch.offset)
    const change = reduce(store.jobs.get(record.id) as JobRecord, { type: 'lost' }, { now: Date.now() })
    changed.push(store.jobs.update(record.id, change.fields))
  }
  for (const record of store.jobs.list()) removeTemporaryCheckpoints(jobDir(record.id))
  return changed
}

async function killOrphan(pid: number, startTime: string | null): Promise<void> {
  const leader = readStat(pid) ?? { pid, ppid: 0, group: pid, session: pid, startTime: startTime ?? '0' }
  const known = new Map<number, string>()
  killProcessTree(leader, known)
  await waitForTreeGone(leader, known, 5000)
}
