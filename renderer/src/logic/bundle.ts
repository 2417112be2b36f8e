/**
 * "Bundle for a cluster": where the bundle folder goes by default, and what to run with it for
 * each launcher (the bundle holds all three; electron/host/jobs/bundle.ts writes them).
 */

/** The launchers a bundle carries. */
export const launchers = [
  { id: 'torchrun', label: 'torchrun' },
  { id: 'slurm', label: 'Slurm' },
  { id: 'skypilot', label: 'SkyPilot' },
] as const

export type Launcher = (typeof launchers)[number]['id']

/**
 * A new folder for the bundle under the host's data folder (always a folder serve allows):
 * <data>/bundles/<job name>-<date and time>, in the host's own separator.
 */
export function defaultBundleFolder(dataDir: string, jobName: string, now: Date): string {
  const separator = dataDir.includes('\\') && !dataDir.includes('/') ? '\\' : '/'
  const name = jobName.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'job'
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')
  return `${dataDir.replace(/[\\/]+$/, '')}${separator}bundles${separator}${name}-${stamp}`
}

/** What to run in the bundle's folder to train it with `launcher` (each file's own comment says what to change). */
export function launchCommand(launcher: Launcher): string {
  switch (launcher) {
    case 'slurm':
      return 'sbatch slurm.sbatch   (on a shared file system; set --nodes and --gpus-per-node in it)'
    case 'skypilot':
      return 'sky launch -c tunedeck skypilot.yaml   (set num_nodes and accelerators in it)'
    default:
      return 'NNODES=2 NPROC_PER_NODE=4 RDZV_ENDPOINT=head-node:29500 bash torchrun.sh   (once on every node)'
  }
}
