/**
 * Opening a job's page asks for its loss history first: the page's requests for the job leave when
 * the page is chosen, metrics first, before React mounts the page (and, on a reload of the job's
 * address, before the lists every page shows). What the page waits for to draw comes first.
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createSelftestJob, useServedBrowser, withDiagnostics } from './harness'

const jobRoutes = new Set(['jobs.metrics', 'jobs.get', 'jobs.terminal', 'jobs.report'])

/** Every request the page sends over its WebSockets, in order: route and input. */
function recordRequests(page: Page): { route: string; input: { jobId?: string } }[] {
  const sent: { route: string; input: { jobId?: string } }[] = []
  page.on('websocket', (socket) => {
    socket.on('framesent', (frame) => {
      try {
        const message = JSON.parse(String(frame.payload)) as { kind?: string; route?: string; input?: { jobId?: string } }
        if (message.kind === 'request' && message.route) sent.push({ route: message.route, input: message.input ?? {} })
      } catch {
        // not a request
      }
    })
  })
  return sent
}

describe('job page requests', () => {
  const app = useServedBrowser()

  it('asks for the metrics first when a job page is chosen and when its address is reloaded', async () => {
    const page = app.page()
    const sent = recordRequests(page)
    await withDiagnostics(page, app.served(), 'job-page-requests', async () => {
      await page.goto(app.served().url)
      const jobId = await createSelftestJob(page, { name: 'requests' })
      await page.evaluate(`window.location.hash = '#/'`)
      await page.getByTestId('new-job-button').waitFor()
      sent.length = 0
      await page.evaluate(`window.location.hash = '#/jobs/${jobId}'`)
      await page.getByTestId('loss-chart').waitFor()
      const chosen = sent.filter((request) => jobRoutes.has(request.route))
      expect(chosen[0]).toEqual({ route: 'jobs.metrics', input: { jobId, maxPoints: 4000 } })
      expect(new Set(chosen.map((request) => request.route))).toEqual(jobRoutes)

      sent.length = 0
      await page.reload()
      await page.getByTestId('loss-chart').waitFor()
      expect(sent[0]).toEqual({ route: 'jobs.metrics', input: { jobId, maxPoints: 4000 } })
    })
  })
})
