/** The window: sidebar on the left, the open page on the right, a notice while disconnected. */
import { useNavigationStore } from './stores/navigation'
import { sourceKey } from './logic/chat'
import { ChatView } from './views/ChatView'
import { useConnectionStore } from './stores/sync'
import { useRemoteStore } from './stores/remote'
import { AdaptersView } from './views/AdaptersView'
import { useWindowDrop } from './components/useWindowDrop'
import { CompareView } from './views/CompareView'
import { DatasetsView } from './views/DatasetsView'
import { HomeView } from './views/HomeView'
import { JobView } from './views/JobView'
import { ModelsView } from './views/ModelsView'
import { NewJobView } from './views/NewJobView'
import { SetupView } from './views/SetupView'
import { Sidebar } from './views/Sidebar'

/** Why a kept remote host is not driven, on pages other than the start page (whose card says it). */
function RemoteProblem({ onHome }: { onHome: boolean }) {
  const problem = useRemoteStore((state) => state.problem)
  if (!problem || onHome) return null
  return (
    <div className="connection-notice" data-testid="remote-problem-banner" role="alert">
      {problem}
    </div>
  )
}

function ConnectionNotice() {
  const connection = useConnectionStore((state) => state.connection)
  const remote = useRemoteStore((state) => state.origin)
  if (connection.status === 'open') return null
  if (connection.status === 'connecting' && !connection.reconnected) return null
  if (connection.status === 'refused' && remote) {
    return (
      <div className="connection-notice" data-testid="connection-notice" role="alert">
        The Tunedeck at {remote} no longer takes this window's token (its serve was started with --new-token): go back to this machine on
        the start page and connect again with the new token.
      </div>
    )
  }
  if (connection.status === 'refused') {
    return (
      <div className="connection-notice" data-testid="connection-notice" role="alert">
        Tunedeck's address changed: serve was started with a new token (--new-token), so this page's address no longer works. Open the
        address serve printed last.
      </div>
    )
  }
  return (
    <div className="connection-notice" data-testid="connection-notice" role="status">
      The connection to the Tunedeck host was lost; reconnecting…
    </div>
  )
}

/** The root component. */
export function App() {
  const page = useNavigationStore((state) => state.page)
  const dragging = useWindowDrop()
  let content
  switch (page.name) {
    case 'job':
      content = <JobView key={page.jobId} jobId={page.jobId} />
      break
    case 'new':
      // A new key per source so the form starts over when another checkpoint is chosen.
      content = (
        <NewJobView
          key={page.from ? `${page.from.jobId}/${page.from.checkpoint}` : page.again ? `again/${page.again}` : (page.datasetId ?? 'new')}
          from={page.from}
          datasetId={page.datasetId}
          again={page.again}
        />
      )
      break
    case 'datasets':
      content = <DatasetsView />
      break
    case 'setup':
      content = <SetupView />
      break
    case 'models':
      content = <ModelsView />
      break
    case 'compare':
      content = <CompareView jobIds={page.jobIds} />
      break
    case 'chat':
      content = <ChatView key={page.source ? sourceKey(page.source) : 'chat'} source={page.source ?? null} />
      break
    case 'adapters':
      content = <AdaptersView />
      break
    default:
      content = <HomeView />
  }
  return (
    <div className="app">
      <Sidebar />
      <main className="main">
        <ConnectionNotice />
        <RemoteProblem onHome={page.name === 'home'} />
        {/* The Adapters page takes a dropped zip in its own drop zone. */}
        {dragging && page.name !== 'adapters' && (
          <div className="drop-overlay" data-testid="drop-overlay">
            Drop to import into the dataset library
          </div>
        )}
        {content}
      </main>
    </div>
  )
}
