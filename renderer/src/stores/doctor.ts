/** The environment doctor's last report, and Repair (whose progress arrives as python.setup events). */
import { create } from 'zustand'
import type { DoctorCheckId, DoctorReport } from '@shared/doctor'
import { getClient } from '../api/client'
import { errorMessage } from '../api/errors'
import { useSystemStore } from './system'

interface DoctorState {
  report: DoctorReport | null
  examining: boolean
  error: string | null
  /** The check a repair was started for, until its set-up progress ends. */
  repairing: DoctorCheckId | null
  examine(): Promise<void>
  repair(check: DoctorCheckId): Promise<void>
}

/** One store for the doctor; use as useDoctorStore(selector). */
export const useDoctorStore = create<DoctorState>()((set, get) => ({
  report: null,
  examining: false,
  error: null,
  repairing: null,
  async examine() {
    if (get().examining) return
    set({ examining: true, error: null })
    try {
      set({ report: await getClient().request('system.doctor', {}) })
    } catch (error) {
      set({ error: `The doctor could not examine the environment: ${errorMessage(error)}` })
    } finally {
      set({ examining: false })
    }
  },
  async repair(check) {
    set({ repairing: check, error: null })
    try {
      useSystemStore.getState().applySetup(await getClient().request('system.repair', { check }))
    } catch (error) {
      set({ repairing: null, error: `Repair failed to start: ${errorMessage(error)}` })
    }
  },
}))

// When a repair's progress ends, look again: the report should show what it fixed.
useSystemStore.subscribe((state, previous) => {
  const ended = state.setup && state.setup.state !== 'installing' && previous.setup?.state === 'installing'
  if (ended && useDoctorStore.getState().repairing !== null) {
    useDoctorStore.setState({ repairing: null })
    void useDoctorStore.getState().examine()
  }
})
