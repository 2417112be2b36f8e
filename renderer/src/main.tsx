/** Entry point: decides which host to drive, picks the transport, starts syncing the stores and renders the app. */
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { getClient, startClient } from './api/client'
import { App } from './App'
import { followHashChanges } from './stores/navigation'
import { useRemoteStore } from './stores/remote'
import { startSync } from './stores/sync'
import './styles.css'

const root = document.getElementById('root')
if (!root) throw new Error('index.html has no #root element')

void startClient().then((start) => {
  // The page is being loaded again with the remote host's origin in its address (and CSP).
  if (start.reloading) return
  useRemoteStore.setState({ origin: start.remote?.origin ?? null, problem: start.problem })
  startSync(getClient())
  followHashChanges()
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  )
})
