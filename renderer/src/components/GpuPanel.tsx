/**
 * Live GPU readings from gpu.sample, one block per GPU of the job (@shared/jobGpus) with its
 * utilisation, memory, temperature, power and MFU; when there is no GPU it says why instead
 * of showing zeros.
 */
import type { GpuReading } from '@shared/system'
import { jobGpuRows, mfuCell, type GpuChoice } from '@shared/jobGpus'
import { useSystemStore } from '../stores/system'
import { ProgressBar } from './ProgressBar'

function formatMemory(megabytes: number): string {
  return megabytes >= 1024 ? `${(megabytes / 1024).toFixed(1)} GB` : `${Math.round(megabytes)} MB`
}

function Reading({ gpu, mfu }: { gpu: GpuReading; mfu: number | null }) {
  const memoryKnown = gpu.memoryUsedMb !== null && gpu.memoryTotalMb !== null && gpu.memoryTotalMb > 0
  return (
    <div className="gpu" data-testid="gpu-reading" data-gpu-index={gpu.index}>
      <div className="gpu-name">
        GPU {gpu.index} · {gpu.name}
      </div>
      <div className="gpu-row">
        <span>Utilisation</span>
        <span>{gpu.utilization === null ? 'not reported' : `${Math.round(gpu.utilization)}%`}</span>
      </div>
      {gpu.utilization !== null && <ProgressBar value={gpu.utilization / 100} label="GPU utilisation" />}
      <div className="gpu-row">
        <span>Memory</span>
        <span>{memoryKnown ? `${formatMemory(gpu.memoryUsedMb!)} / ${formatMemory(gpu.memoryTotalMb!)}` : 'not reported'}</span>
      </div>
      {memoryKnown && (
        <ProgressBar
          value={gpu.memoryUsedMb! / gpu.memoryTotalMb!}
          label="GPU memory"
          tone={gpu.memoryUsedMb! / gpu.memoryTotalMb! > 0.92 ? 'danger' : 'accent'}
        />
      )}
      <div className="gpu-row">
        <span>Temperature</span>
        <span>{gpu.temperatureC === null ? 'not reported' : `${Math.round(gpu.temperatureC)} °C`}</span>
      </div>
      <div className="gpu-row">
        <span>Power</span>
        <span>{gpu.powerW === null ? 'not reported' : `${Math.round(gpu.powerW)} W`}</span>
      </div>
      <div
        className="gpu-row"
        title="Model FLOPs utilisation of this GPU's rank: the job's tokens per second per rank against the GPU's peak"
      >
        <span>MFU</span>
        <span data-testid="gpu-mfu">{mfuCell(mfu)}</span>
      </div>
    </div>
  )
}

/** The GPU card of the job page: the GPUs its training.gpus names, and the job's latest MFU. */
export function GpuPanel({ gpus, mfu }: { gpus: GpuChoice; mfu: number | null }) {
  const sample = useSystemStore((state) => state.gpu)
  const rows = jobGpuRows(sample, gpus, mfu)
  let body
  if (!sample) body = <p className="muted">Waiting for the first GPU reading…</p>
  else if (!sample.available)
    body = (
      <p className="notice" data-testid="gpu-unavailable">
        {sample.reason ?? 'No NVIDIA GPU was found on this machine.'}
      </p>
    )
  else if (sample.gpus.length === 0) body = <p className="muted">The driver reported no GPUs.</p>
  else if (rows.length === 0) body = <p className="notice">None of the GPUs this job names ({JSON.stringify(gpus)}) is on this machine.</p>
  else body = rows.map((row) => <Reading key={row.reading.index} gpu={row.reading} mfu={row.mfu} />)
  return (
    <section className="card gpu-panel" data-testid="gpu-panel">
      <h2>{rows.length > 1 ? `GPUs of this job (${rows.length})` : 'GPU'}</h2>
      {body}
    </section>
  )
}
