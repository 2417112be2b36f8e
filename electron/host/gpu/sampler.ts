/**
 * Emits a `gpu.sample` once a second while any job is live, and nothing while
 * the machine is idle. It learns which jobs are live from the `job.updated`
 * events the host emits, so it needs no hook in the job service.
 */
import { liveStatuses, type JobStatus } from '@shared/jobs'
import type { GpuSample } from '@shared/system'

/** Samples the GPUs on a timer while jobs are live. */
export class GpuSampler {
  private readonly live = new Set<string>()
  private timer: NodeJS.Timeout | null = null
  private inFlight = false

  constructor(
    private readonly read: () => Promise<GpuSample>,
    /** Gets each sample with the jobs live when it was taken, which store it. */
    private readonly emit: (sample: GpuSample, liveJobIds: string[]) => void,
    private readonly intervalMs = 1000,
  ) {}

  /** True while the timer runs. */
  get sampling(): boolean {
    return this.timer !== null
  }

  /** Follows one job's status: a live one starts the timer, the last one ending stops it. */
  jobUpdated(job: { id: string; status: JobStatus }): void {
    if (liveStatuses.includes(job.status)) this.live.add(job.id)
    else this.live.delete(job.id)
    if (this.live.size > 0 && !this.timer) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs)
      void this.tick()
    } else if (this.live.size === 0) {
      this.stop()
    }
  }

  /** Stops sampling (the host's shutdown). */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private async tick(): Promise<void> {
    // nvidia-smi can take longer than the interval on a busy machine: skip rather than pile up.
    if (this.inFlight) return
    this.inFlight = true
    try {
      const sample = await this.read()
      if (this.timer) this.emit(sample, [...this.live])
    } catch (error) {
      process.stderr.write(`GPU sample failed: ${(error as Error).message}\n`)
    } finally {
      this.inFlight = false
    }
  }
}
