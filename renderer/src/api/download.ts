/**
 * Downloads a finished zip from serve to this browser's machine: a one-use ticket asked for
 * with the page's token, then a plain link the browser saves (streamed; no token in any address).
 */
import { downloadTicketPath } from '@shared/exports'
import { httpHost } from './remote'

/** Starts the browser's download of `path` (a zip on the server); rejects with serve's words. */
export async function downloadFromServer(path: string): Promise<void> {
  // The serve this window drives: the one that sent the page, or a remote one (remote.ts).
  const host = httpHost()
  const response = await fetch(`${host.origin}${downloadTicketPath}?path=${encodeURIComponent(path)}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${host.token}` },
    cache: 'no-store',
  })
  if (!response.ok) throw new Error((await response.text()).trim() || `The download was refused (HTTP ${response.status}).`)
  const { url } = (await response.json()) as { url: string }
  const link = document.createElement('a')
  link.href = `${host.origin}${url}`
  link.download = path.split(/[\\/]/).pop() ?? 'export.zip'
  document.body.append(link)
  link.click()
  link.remove()
}
