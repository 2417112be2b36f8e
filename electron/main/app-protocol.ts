/**
 * Serves the built renderer from app://tunedeck/ instead of file://, so the
 * page has a real origin that the CSP and the IPC sender check can name.
 * Each response carries the CSP itself: session header events do not fire
 * for custom protocols.
 */
import { net, protocol } from 'electron'
import { join, normalize, relative, isAbsolute } from 'node:path'
import { pathToFileURL } from 'node:url'
import { appOrigin } from './policy'
import { currentPolicy } from './remote-host'

export const appScheme = 'app'
export { appOrigin }

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: appScheme, privileges: { standard: true, secure: true, supportFetchAPI: true } }])
}

/** Maps app://tunedeck/<path> to files under rendererDir, refusing anything outside it. */
export function serveRenderer(rendererDir: string): void {
  protocol.handle(appScheme, async (request) => {
    const url = new URL(request.url)
    const wanted = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)
    const file = normalize(join(rendererDir, wanted))
    const inside = relative(rendererDir, file)
    if (url.host !== 'tunedeck' || inside.startsWith('..') || isAbsolute(inside)) {
      return new Response('Not found', { status: 404 })
    }
    const response = await net.fetch(pathToFileURL(file).toString())
    const headers = new Headers(response.headers)
    headers.set('Content-Security-Policy', currentPolicy())
    headers.set('X-Content-Type-Options', 'nosniff')
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
  })
}
