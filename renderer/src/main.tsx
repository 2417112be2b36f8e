/** Entry point: picks the transport, starts syncing the stores and renders the app. */
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { getClient } from './api/client'
import { App } from './App'
import { followHashChanges } from './stores/navigation'
import { startSync } from './stores/sync'
import './styles.css'

startSync(getClient())
followHashChanges()

const root = document.getElementById('root')
if (!root) throw new Error('index.html has no #root element')
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
