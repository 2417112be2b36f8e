/**
 * The model library: models on this machine, the fit of the ones inspected, downloads in
 * progress (from models.progress events), and whether a Hub token is stored.
 */
import { create } from 'zustand'
import type { DownloadProgress, ModelDetail, ModelFits, ModelLibrary, ModelSummary, TokenStatus } from '@shared/models'

/** One model's fit and packing at a preset's settings. */
export type FitEntry = ModelFits[number]
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'

interface ModelsState {
  library: ModelLibrary | null
  loading: boolean
  error: string | null
  /** Inspected models by path. */
  details: Record<string, ModelDetail>
  inspecting: Record<string, boolean>
  inspectErrors: Record<string, string>
  /** The latest progress of each download seen in this session, by kind:hubId. */
  downloads: Record<string, DownloadProgress>
  token: TokenStatus | null
  /** Fits at a preset's settings: by preset id ('' for the defaults), then by model path. */
  fits: Record<string, Record<string, FitEntry>>
  /** Preset ids ('' for the defaults) whose fits are being estimated. */
  fitting: Record<string, boolean>
  load(): Promise<void>
  /** Estimates every listed model at the preset's settings, once per preset unless `again`. */
  fitFor(preset: string | undefined, again?: boolean): Promise<void>
  /** Asks by hub id where there is one (serve's path roots allow hub ids), keeps it under the folder. */
  inspect(model: ModelSummary): Promise<void>
  addFolder(path: string): Promise<void>
  removeFolder(path: string): Promise<void>
  setPopular(hubIds: string[]): Promise<void>
  download(hubId: string): Promise<void>
  cancel(hubId: string, kind?: DownloadProgress['kind']): Promise<void>
  applyProgress(progress: DownloadProgress): void
  setToken(token: string | null): Promise<void>
}

/** Use as useModelsStore(selector). */
export const useModelsStore = create<ModelsState>()((set, get) => {
  const library = async (request: () => Promise<ModelLibrary>) => {
    set({ loading: true, error: null })
    try {
      set({ library: await request(), loading: false })
    } catch (error) {
      set({ loading: false, error: errorMessage(error) })
    }
  }
  return {
    library: null,
    loading: false,
    error: null,
    details: {},
    inspecting: {},
    inspectErrors: {},
    downloads: {},
    token: null,
    fits: {},
    fitting: {},
    async fitFor(preset, again = false) {
      const key = preset ?? ''
      if ((get().fits[key] && !again) || get().fitting[key]) return
      set({ fitting: { ...get().fitting, [key]: true } })
      try {
        const fits = await getClient().request('models.fit', preset ? { preset } : {})
        set({ fits: { ...get().fits, [key]: Object.fromEntries(fits.map((entry) => [entry.path, entry])) } })
      } catch {
        // No estimate: the models show without a verdict, and "Check memory" asks for one.
      } finally {
        set({ fitting: { ...get().fitting, [key]: false } })
      }
    },
    async load() {
      const client = getClient()
      void client.request('models.token', {}).then(
        (token) => set({ token }),
        () => undefined,
      )
      void client.request('models.downloads', {}).then(
        (running) => running.forEach((progress) => get().applyProgress(progress)),
        () => undefined,
      )
      await library(() => client.request('models.list', {}))
    },
    async inspect(model) {
      const path = model.path
      set({ inspecting: { ...get().inspecting, [path]: true } })
      try {
        const detail = await getClient().request('models.inspect', { path: model.hubId ?? model.path })
        set({ details: { ...get().details, [path]: detail } })
      } catch (error) {
        set({ inspectErrors: { ...get().inspectErrors, [path]: errorMessage(error) } })
      } finally {
        set({ inspecting: { ...get().inspecting, [path]: false } })
      }
    },
    addFolder: (path) => library(() => getClient().request('models.add_folder', { path })),
    removeFolder: (path) => library(() => getClient().request('models.remove_folder', { path })),
    setPopular: (hubIds) => library(() => getClient().request('models.set_popular', { hubIds })),
    async download(hubId) {
      try {
        const final = await getClient().request('models.download', { hubId })
        get().applyProgress(final)
        if (final.state === 'done') await get().load()
      } catch (error) {
        get().applyProgress({
          kind: 'model',
          hubId,
          state: 'failed',
          doneBytes: 0,
          totalBytes: 0,
          bytesPerSecond: 0,
          secondsLeft: null,
          path: null,
          error: { code: 'failed', message: errorMessage(error), url: null },
        })
      }
    },
    async cancel(hubId, kind = 'model') {
      const request =
        kind === 'model'
          ? getClient().request('models.cancel', { hubId })
          : getClient().request('datasets.cancel_download', { source: hubId })
      await request.catch(() => undefined)
    },
    applyProgress(progress) {
      set({ downloads: { ...get().downloads, [`${progress.kind}:${progress.hubId}`]: progress } })
    },
    async setToken(token) {
      try {
        set({ token: await getClient().request('models.set_token', { token }), error: null })
      } catch (error) {
        set({ error: errorMessage(error) })
      }
    },
  }
})
