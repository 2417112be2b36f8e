/**
 * The Adapters page: the library (combined and imported adapters) with export, delete and
 * "new job from this adapter" (components/AdapterRow); a form combining 2+ adapters of completed
 * jobs or the library (components/CombineForm); and import of a zip (components/AdapterImportForm).
 */
import { useEffect } from 'react'
import { AdapterImportForm } from '../components/AdapterImportForm'
import { AdapterRow } from '../components/AdapterRow'
import { CombineForm } from '../components/CombineForm'
import { useAdaptersStore } from '../stores/adapters'

/** The page. */
export function AdaptersView() {
  const list = useAdaptersStore((state) => state.list)
  const loaded = useAdaptersStore((state) => state.loaded)
  const load = useAdaptersStore((state) => state.load)
  const busy = useAdaptersStore((state) => state.busy)
  const error = useAdaptersStore((state) => state.error)
  const message = useAdaptersStore((state) => state.message)
  useEffect(() => void load(), [load])
  return (
    <div className="page adapters">
      <header className="page-header">
        <h1>Adapters</h1>
        <p className="muted">Combined and imported LoRA adapters, ready to export or to start a new job from.</p>
      </header>
      {busy && (
        <div className="notice" role="status">
          {busy}
        </div>
      )}
      {error && (
        <div className="form-error" data-testid="adapters-error" role="alert">
          {error}
        </div>
      )}
      {message && (
        <p className="muted" data-testid="adapters-message">
          {message}
        </p>
      )}
      <section className="card">
        <h2>Library</h2>
        {loaded && list.length === 0 && <p className="muted">No adapters yet: combine some or import a zip.</p>}
        {list.length > 0 && (
          <table className="table" data-testid="adapter-list">
            <thead>
              <tr>
                <th>Adapter</th>
                <th>Base model</th>
                <th className="number">Rank</th>
                <th className="number">Examples</th>
                <th className="number">Size</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((adapter) => (
                <AdapterRow key={adapter.id} adapter={adapter} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      <div className="adapter-forms">
        <CombineForm />
        <AdapterImportForm />
      </div>
    </div>
  )
}
