/** The native open dialogs the page may ask for, by kind (pure, so tested without Electron). */

const datasetFilters = [{ name: 'Datasets', extensions: ['json', 'jsonl', 'csv', 'parquet', 'txt'] }]

/**
 * The dialog for a kind of path. Windows and Linux cannot offer files and folders in one dialog
 * (asked for both, they show a folder picker only), so a save_to_disk folder has its own kind.
 */
export function dialogOptions(kind: unknown): Electron.OpenDialogOptions {
  if (kind === 'model-folder') return { title: 'Choose a Hugging Face model folder', properties: ['openDirectory'] }
  if (kind === 'run-folder') return { title: "Choose a cluster run's folder (the bundle or its job folder)", properties: ['openDirectory'] }
  if (kind === 'dataset-folder') return { title: 'Choose a folder saved with save_to_disk', properties: ['openDirectory'] }
  return { title: 'Choose a dataset file', properties: ['openFile'], filters: datasetFilters }
}
