/**
 * The start page's "Remote Tunedeck": drive a `serve` on another machine by its address and
 * token, through the same WebSocket a browser uses, or go back to this machine.
 */
import { useEffect, useState, type FormEvent } from 'react'
import { parseRemoteAddress } from '@shared/remote'
import { useRemoteStore } from '../stores/remote'

/** Kept how: the desktop shell says whether its keychain can hold the token. */
function useKeptHow(): string {
  const [remembers, setRemembers] = useState<boolean | null>(null)
  useEffect(() => {
    void window.tunedeckRemote?.remembers().then(setRemembers)
  }, [])
  if (!window.tunedeckRemote) return 'The address and token are kept for this tab only, until it is closed.'
  return remembers === false
    ? 'This system has no keychain: the address and token are kept until the app quits, never written in plain text.'
    : 'The address and token are remembered by this app, the token encrypted by the system keychain.'
}

/** The card: which host this window drives, and the form to drive another. */
export function RemoteHostCard() {
  const origin = useRemoteStore((state) => state.origin)
  const problem = useRemoteStore((state) => state.problem)
  const switching = useRemoteStore((state) => state.switching)
  const switchTo = useRemoteStore((state) => state.switchTo)
  const [address, setAddress] = useState('')
  const [token, setToken] = useState('')
  const [typed, setTyped] = useState<string | null>(null)
  const keptHow = useKeptHow()

  const connect = (event: FormEvent): void => {
    event.preventDefault()
    const host = parseRemoteAddress(address, token)
    if ('problem' in host) return setTyped(host.problem)
    setTyped(null)
    void switchTo(host)
  }

  return (
    <section className="card remote-card" data-testid="remote-card">
      <h2>Remote Tunedeck</h2>
      {origin ? (
        <>
          <p data-testid="remote-driving">
            This window drives the Tunedeck at <span className="mono">{origin}</span>: jobs, datasets and files are that machine's.
          </p>
          <button data-testid="remote-back" disabled={switching} onClick={() => void switchTo(null)}>
            Back to this machine
          </button>
        </>
      ) : (
        <form className="remote-form" onSubmit={connect}>
          <p className="muted">
            Drive <span className="mono">tunedeck serve</span> on another machine (a GPU server): paste the address it printed, and its
            token if the address has none.
          </p>
          <label className="field">
            <span>Address</span>
            <input
              data-testid="remote-address"
              placeholder="http://192.168.1.20:8765/"
              value={address}
              onChange={(event) => setAddress(event.target.value)}
              spellCheck={false}
            />
          </label>
          <label className="field">
            <span>Token</span>
            <input
              data-testid="remote-token"
              type="password"
              placeholder="after #token= in the address serve printed"
              value={token}
              onChange={(event) => setToken(event.target.value)}
              autoComplete="off"
            />
          </label>
          <p className="muted small">{keptHow}</p>
          <button className="primary" type="submit" data-testid="remote-connect" disabled={switching}>
            {switching ? 'Connecting…' : 'Connect'}
          </button>
        </form>
      )}
      {(typed ?? problem) && (
        <p className="error-text" role="alert" data-testid="remote-problem">
          {typed ?? problem}
        </p>
      )}
    </section>
  )
}

/** The sidebar's mark of the host this window drives, with the way back; nothing for this machine. */
export function RemoteBadge() {
  const origin = useRemoteStore((state) => state.origin)
  const switching = useRemoteStore((state) => state.switching)
  const switchTo = useRemoteStore((state) => state.switchTo)
  if (!origin) return null
  return (
    <div className="remote-badge" data-testid="remote-badge" title="Every page of this window shows that machine's Tunedeck">
      <span>Driving</span> <span className="mono">{new URL(origin).host}</span>
      <button className="small" data-testid="remote-badge-back" disabled={switching} onClick={() => void switchTo(null)}>
        This machine
      </button>
    </div>
  )
}
