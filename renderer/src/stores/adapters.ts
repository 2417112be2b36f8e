/** The adapter library: its list, and combine, import, export and delete with their last error. */
import { create } from 'zustand'
import type { LibraryAdapter } from '@shared/adapters'
import type { RouteInput } from '@shared/routes'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { uploadAdapterZip } from '../api/upload'

interface AdaptersState {
  list: LibraryAdapter[]
  loaded: boolean
  /** What the last action was doing, while it runs ("Combining…"). */
  busy: string | null
  error: string | null
  /** What the last action did, for a person to read ("Exported to …"). */
  message: string | null
  load(): Promise<void>
  combine(input: RouteInput<'adapters.combine'>): Promise<boolean>
  importZip(input: RouteInput<'adapters.import'>): Promise<boolean>
  /** Uploads a zip from this browser's machine (serve only) and imports it. */
  uploadZip(file: File): Promise<boolean>
  exportZip(adapterId: string, destination?: string): Promise<void>
  remove(adapterId: string): Promise<void>
}

/** One store for the library; use as useAdaptersStore(selector). */
export const useAdaptersStore = create<AdaptersState>()((set, get) => {
  /** Runs one action with its busy text, reloading the list after; false when it failed (error set). */
  const act = async (busy: string, action: () => Promise<string>): Promise<boolean> => {
    set({ busy, error: null, message: null })
    try {
      set({ message: await action() })
      await get().load()
      return true
    } catch (error) {
      set({ error: errorMessage(error) })
      return false
    } finally {
      set({ busy: null })
    }
  }
  return {
    list: [],
    loaded: false,
    busy: null,
    error: null,
    message: null,
    async load() {
      try {
        set({ list: await getClient().request('adapters.list', {}), loaded: true })
      } catch (error) {
        set({ error: `The adapter library could not be read: ${errorMessage(error)}`, loaded: true })
      }
    },
    combine: (input) =>
      act('Combining the adapters…', async () => {
        const adapter = await getClient().request('adapters.combine', input)
        return `Combined into "${adapter.name}" (rank ${adapter.rank}).`
      }),
    importZip: (input) =>
      act('Checking and importing the zip…', async () => {
        const adapter = await getClient().request('adapters.import', input)
        return `Imported "${adapter.name}".`
      }),
    uploadZip: (file) =>
      act(`Uploading and checking ${file.name}…`, async () => {
        const adapter = await uploadAdapterZip(file, () => undefined).done
        return `Imported "${adapter.name}".`
      }),
    exportZip: async (adapterId, destination) => {
      await act('Writing the zip…', async () => {
        const result = await getClient().request('adapters.export', { adapterId, destination })
        return `Exported to ${result.path}.`
      })
    },
    remove: async (adapterId) => {
      await act('Deleting…', async () => {
        await getClient().request('adapters.delete', { adapterId })
        return 'Deleted.'
      })
    },
  }
})
