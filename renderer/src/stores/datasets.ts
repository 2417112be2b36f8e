/**
 * The dataset library: the imported datasets, the imports under way (a
 * dropped or picked file: its path is imported in the desktop app, its bytes
 * uploaded with progress in a browser), and rename / re-check / delete.
 */
import { create } from 'zustand'
import type { DatasetEntry, DatasetImportResult } from '@shared/datasets'
import { getClient, getShell } from '../api/client'
import { errorMessage } from '../api/errors'
import type { FolderFile } from '@shared/folderTar'
import { uploadDataset, uploadFolder } from '../api/upload'
import { plural } from '../logic/datasetPreview'

/** One import the user started: a file name, bytes sent so far, and how it ended. */
export interface ImportTask {
  key: number
  name: string
  sent: number
  total: number
  status: 'running' | 'done' | 'failed'
  message: string | null
  abort: (() => void) | null
}

interface DatasetsState {
  list: DatasetEntry[]
  loaded: boolean
  error: string | null
  imports: ImportTask[]
  load(): Promise<void>
  /** Imports dropped or picked files (several at once, one after another). */
  importFiles(files: readonly File[]): Promise<void>
  /** Uploads a save_to_disk folder dropped or picked in a browser (the desktop app imports its path). */
  importFolder(name: string, files: readonly FolderFile[]): Promise<void>
  /** Imports a path on the host's disk (the desktop picker, or a typed path). */
  importPath(path: string): Promise<DatasetEntry | null>
  rename(datasetId: string, name: string): Promise<void>
  recheck(datasetId: string): Promise<void>
  /** Clears the dataset's encoded data from the trainer's cache. */
  deleteEncoded(datasetId: string): Promise<void>
  remove(datasetId: string, confirm: boolean): Promise<void>
  dismiss(key: number): void
}

let nextKey = 1

/** use as useDatasetsStore(selector). */
export const useDatasetsStore = create<DatasetsState>()((set, get) => {
  const update = (key: number, change: Partial<ImportTask>): void =>
    set((state) => ({ imports: state.imports.map((task) => (task.key === key ? { ...task, ...change } : task)) }))
  const finished = (key: number, message: string, failed: boolean): void =>
    update(key, { status: failed ? 'failed' : 'done', message, abort: null })
  const act = async (work: () => Promise<unknown>): Promise<void> => {
    try {
      await work()
      set({ error: null })
    } catch (error) {
      set({ error: errorMessage(error) })
    }
    await get().load()
  }

  /** Runs one import as a task the page lists, with its progress and how it ended. */
  const task = async (name: string, size: number, work: (key: number) => Promise<DatasetImportResult>): Promise<void> => {
    const key = nextKey++
    set((state) => ({ imports: [...state.imports, { key, name, sent: 0, total: size, status: 'running', message: null, abort: null }] }))
    try {
      const { dataset, duplicate } = await work(key)
      finished(key, importMessage(name, dataset, duplicate), false)
    } catch (error) {
      finished(key, errorMessage(error), true)
    }
    await get().load()
  }

  return {
    list: [],
    loaded: false,
    error: null,
    imports: [],
    async load() {
      try {
        set({ list: await getClient().request('datasets.list', {}), loaded: true })
      } catch (error) {
        set({ error: errorMessage(error), loaded: true })
      }
    },
    async importFiles(files) {
      const shell = getShell()
      for (const file of files) {
        await task(file.name, file.size, async (key) => {
          if (shell) return await getClient().request('datasets.import', { path: shell.pathForFile(file) })
          const upload = uploadDataset(file, (sent, total) => update(key, { sent, total }))
          update(key, { abort: upload.abort })
          return await upload.done
        })
      }
    },
    async importFolder(name, files) {
      const size = files.reduce((total, entry) => total + entry.file.size, 0)
      await task(name, size, async (key) => {
        const upload = uploadFolder(name, files, (sent, total) => update(key, { sent, total }))
        update(key, { abort: upload.abort })
        return await upload.done
      })
    },
    async importPath(path) {
      const key = nextKey++
      set((state) => ({
        imports: [...state.imports, { key, name: path, sent: 0, total: 0, status: 'running', message: null, abort: null }],
      }))
      try {
        const { dataset } = await getClient().request('datasets.import', { path })
        finished(key, `${dataset.name}: ${plural(dataset.usable, 'usable row')} (${dataset.format}).`, false)
        await get().load()
        return dataset
      } catch (error) {
        finished(key, errorMessage(error), true)
        return null
      }
    },
    rename: (datasetId, name) => act(() => getClient().request('datasets.rename', { datasetId, name })),
    recheck: (datasetId) => act(() => getClient().request('datasets.recheck', { datasetId })),
    deleteEncoded: (datasetId) => act(() => getClient().request('datasets.delete_encoded', { datasetId })),
    remove: (datasetId, confirm) => act(() => getClient().request('datasets.delete', { datasetId, confirm })),
    dismiss(key) {
      set((state) => ({ imports: state.imports.filter((task) => task.key !== key) }))
    },
  }
})

/** What an import says when it is done: already there, its usable rows, or that it needs a reading. */
function importMessage(name: string, dataset: DatasetEntry, duplicate: boolean): string {
  if (duplicate) return `${name} is already in the library as ${dataset.name}.`
  if (dataset.unread) return `${name}: imported; its format could not be told, so choose how to read it in Read as… below.`
  return `${name}: ${plural(dataset.usable, 'usable row')} (${dataset.format}).`
}
