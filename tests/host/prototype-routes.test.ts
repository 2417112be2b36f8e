/**
 * Names of Object.prototype's members through the real WebSocket of a real serve: as the route
 * of a request, as keys inside every route's input (at the top and inside each object field),
 * and as the value of every top-level field, where handlers look things up by them (job,
 * dataset, adapter, conversation, preset, download ids). Before the fix `"route":"constructor"`
 * found Object.prototype.constructor in the transport's path table, threw outside any catch and
 * ended serve. Every request must get an answer, and the host must serve afterwards.
 *
 * No Python: TUNEDECK_PYTHON names a missing file and the requirements file is missing, so
 * no request can start a real process (a job, a set-up, a download) that outlives the test.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { WireResponse } from '@shared/api'
import { routeNames, routes } from '@shared/routes'
import { startWireServe, type WireClient, type WireServe, restoreVariable } from './wireServe'

const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-prototype-'))
const savedPython = process.env.TUNEDECK_PYTHON
/** Every own name of Object.prototype: constructor, __proto__, toString, hasOwnProperty, ... */
const prototypeNames = [...new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__'])]
let serve: WireServe
let client: WireClient

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON = join(workDir, 'no-python')
  mkdirSync(join(workDir, 'allowed'), { recursive: true })
  serve = await startWireServe({
    workDir,
    roots: [join(workDir, 'allowed')],
    host: { requirementsFile: join(workDir, 'no-requirements.txt') },
  })
  client = await serve.connect()
})

afterAll(async () => {
  await serve?.stop()
  restoreVariable('TUNEDECK_PYTHON', savedPython)
  rmSync(workDir, { recursive: true, force: true })
})

/** An object whose own keys are all the prototype names (fromEntries makes "__proto__" an own key, as JSON.parse does). */
function prototypeKeyed(value: unknown): Record<string, unknown> {
  return Object.fromEntries(prototypeNames.map((name) => [name, value]))
}

/** The top-level fields of a route's input and whether each is an object, from its JSON Schema. */
function topFields(route: (typeof routeNames)[number]): Array<{ name: string; object: boolean }> {
  const schema = z.toJSONSchema(routes[route].input, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, { type?: unknown }>
  }
  return Object.entries(schema.properties ?? {}).map(([name, field]) => ({
    name,
    object: field.type === 'object' || field.type === undefined,
  }))
}

/** The answers that show the connection was lost rather than the request answered. */
function unanswered(responses: WireResponse[]): WireResponse[] {
  return responses.filter((response) => !response.ok && response.error.message.startsWith('connection lost'))
}

describe('prototype names from the wire', () => {
  it(`refuses each of the ${prototypeNames.length} names as a route and keeps serving`, async () => {
    let id = 1
    for (const name of prototypeNames) {
      const response = await client.sendRaw(id, JSON.stringify({ kind: 'request', id, route: name, input: {} }))
      expect(response, name).toMatchObject({
        id,
        ok: false,
        error: { code: 'invalid_input', message: expect.stringContaining('Unknown route') as string },
      })
      id += 1
    }
    // "__proto__" written as JSON text, as the review sent it.
    const raw = await client.sendRaw(id, `{"kind":"request","id":${id},"route":"__proto__","input":{"__proto__":{"x":1}}}`)
    expect(raw).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
    expect(await serve.serving()).toBe(true)
  })

  it("refuses them in host.dispatch, which the app's MessagePort calls as it is", async () => {
    for (const name of prototypeNames) {
      expect(await serve.host.dispatch(name, {}), name).toMatchObject({
        ok: false,
        error: { code: 'invalid_input', message: expect.stringContaining('Unknown route') as string },
      })
    }
  })

  it('answers every route given prototype names as input keys and as field values', async () => {
    const responses: WireResponse[] = []
    const internal: string[] = []
    let tried = 0
    for (const route of routeNames) {
      const inputs: unknown[] = [prototypeKeyed({}), prototypeKeyed('constructor'), prototypeKeyed(null)]
      for (const field of topFields(route)) {
        for (const name of prototypeNames) inputs.push({ [field.name]: name })
        if (field.object) inputs.push({ [field.name]: prototypeKeyed({}) }, { [field.name]: prototypeKeyed('x') })
      }
      const answers = await Promise.all(inputs.map((input) => client.request(route, input)))
      tried += answers.length
      for (const [index, answer] of answers.entries()) {
        if (!answer.ok && answer.error.code === 'internal')
          internal.push(`${route} ${JSON.stringify(inputs[index])}: ${answer.error.message}`)
      }
      responses.push(...answers)
    }
    console.log(
      `prototype names: ${tried} requests over ${routeNames.length} routes, ${responses.filter((response) => response.ok).length} accepted, ${internal.length} internal errors`,
    )
    expect(unanswered(responses)).toEqual([])
    expect(internal).toEqual([])
    expect(await serve.serving()).toBe(true)
  })
})
