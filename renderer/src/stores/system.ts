/** The machine: Python and torch (system.info), environment set-up progress, GPU samples. */
import { create } from 'zustand'
import type { GpuSample, SetupProgress, SystemInfo } from '@shared/system'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { appendTerminal } from '../logic/terminal'

interface SystemState {
  info: SystemInfo | null
  infoError: string | null
  gpu: GpuSample | null
  setup: SetupProgress | null
  /** pip's output so far, streamed by python.setup events. */
  setupLog: string
  setupError: string | null
  load(): Promise<void>
  /** Starts creating the Python environment; progress arrives as events. */
  startSetup(): Promise<void>
  applySetup(progress: SetupProgress): void
  applyGpu(sample: GpuSample): void
}

/** One store for the machine's state; use as useSystemStore(selector). */
export const useSystemStore = create<SystemState>()((set, get) => ({
  info: null,
  infoError: null,
  gpu: null,
  setup: null,
  setupLog: '',
  setupError: null,
  async load() {
    try {
      const info = await getClient().request('system.info', {})
      // Keep a newer live sample over the one inside the info answer.
      const gpu = get().gpu && get().gpu!.time > info.gpu.time ? get().gpu : info.gpu
      set({ info, gpu, infoError: null })
    } catch (error) {
      set({ infoError: `Could not read the system information: ${errorMessage(error)}` })
    }
  },
  async startSetup() {
    set({ setupError: null, setupLog: '' })
    try {
      get().applySetup(await getClient().request('python.setup', {}))
    } catch (error) {
      set({ setupError: errorMessage(error) })
    }
  },
  applySetup(progress) {
    const log = progress.text && !get().setupLog.endsWith(progress.text) ? appendLine(get().setupLog, progress.text) : get().setupLog
    set({ setup: progress, setupLog: log })
    // When set-up ends the interpreter changed: refresh what system.info says about it.
    if (progress.state === 'ready' || progress.state === 'failed') void get().load()
  },
  applyGpu(sample) {
    set({ gpu: sample })
  },
}))

function appendLine(log: string, text: string): string {
  return appendTerminal(log, text.endsWith('\n') ? text : `${text}\n`, 200_000)
}
