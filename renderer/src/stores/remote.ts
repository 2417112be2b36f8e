/** Which Tunedeck the window drives, as decided at start (api/remote.ts), for the page to show. */
import { create } from 'zustand'
import type { RemoteHost } from '@shared/remote'
import { switchTo } from '../api/remote'

interface RemoteState {
  /** The remote host's origin, or null while the window drives this machine. */
  origin: string | null
  /** Why a kept remote host is not driven (wrong token, no answer), or a typed address's problem. */
  problem: string | null
  /** True while the page is being loaded again against another host. */
  switching: boolean
  /** Keeps `host` (null: this machine) and loads the page again against it. */
  switchTo(host: RemoteHost | null): Promise<void>
}

export const useRemoteStore = create<RemoteState>()((set) => ({
  origin: null,
  problem: null,
  switching: false,
  async switchTo(host) {
    set({ switching: true, problem: null })
    try {
      await switchTo(host)
    } catch (error) {
      set({ switching: false, problem: `The remote host could not be kept: ${error instanceof Error ? error.message : String(error)}` })
    }
  },
}))
