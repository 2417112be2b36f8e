/**
 * The route fuzzer: fast-check drives every route's input schema with generated and hostile
 * values (fuzz.arbitraries.ts) through the real WebSocket of a real serve (in process, as
 * out/main/serve.js assembles it), and raw frames of any shape beside them. Every request
 * must get an answer that is not an internal error, and the host must serve afterwards.
 *
 *   npx vitest run tests/host/fuzz-routes.test.ts                          (the CI's runs)
 *   TUNEDECK_FUZZ_RUNS=20000 npx vitest run tests/host/fuzz-routes.test.ts (more; prints the seed)
 *   TUNEDECK_FUZZ_SEED=123 ...                                             (replays a failure)
 *
 * No request may start long work: TUNEDECK_PYTHON names a missing file and the requirements
 * file is missing, so a job, a preview, a chat, a set-up or a download that passes its checks
 * fails at once where it would start Python (after the host's own checks, which are what is
 * fuzzed). A FIFO sits among the allowed files: a route that opened it would never answer.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WireResponse } from '@shared/api'
import { routeNames, type RouteName } from '@shared/routes'
import { routeInput, hostileValue, type FuzzPaths } from './fuzz.arbitraries'
import { startWireServe, type WireClient, type WireServe, restoreVariable } from './wireServe'

const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-fuzz-'))
const allowedDir = join(workDir, 'allowed')
const savedPython = process.env.TUNEDECK_PYTHON
/** Runs of each property: a CI-sized default, more with TUNEDECK_FUZZ_RUNS. */
const runs = Number(process.env.TUNEDECK_FUZZ_RUNS ?? 1000)
const seed = process.env.TUNEDECK_FUZZ_SEED === undefined ? undefined : Number(process.env.TUNEDECK_FUZZ_SEED)
const paths: FuzzPaths = {
  inside: [
    join(allowedDir, 'train.jsonl'),
    join(allowedDir, 'pipe.jsonl'),
    join(allowedDir, 'model'),
    allowedDir,
    join(allowedDir, 'missing.jsonl'),
    join(allowedDir, 'out.zip'),
  ],
  outside: [join(workDir, 'secret.txt'), workDir, tmpdir()],
}
const tally = { requests: 0, accepted: 0, refused: 0 }
let serve: WireServe
let client: WireClient

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON = join(workDir, 'no-python')
  mkdirSync(join(allowedDir, 'model'), { recursive: true })
  writeFileSync(join(allowedDir, 'train.jsonl'), `${JSON.stringify({ prompt: 'Hi', completion: 'Hello' })}\n`)
  writeFileSync(join(allowedDir, 'model', 'config.json'), '{"model_type": "llama"}\n')
  writeFileSync(join(workDir, 'secret.txt'), 'outside the roots\n')
  execFileSync('mkfifo', [join(allowedDir, 'pipe.jsonl')])
  serve = await startWireServe({ workDir, roots: [allowedDir], host: { requirementsFile: join(workDir, 'no-requirements.txt') } })
  client = await serve.connect()
})

afterAll(async () => {
  await serve?.stop()
  restoreVariable('TUNEDECK_PYTHON', savedPython)
  rmSync(workDir, { recursive: true, force: true })
})

/** What is wrong with an answer, or null when it is a proper one. */
function problem(response: WireResponse): string | null {
  if (response.kind !== 'response') return 'not a response'
  if (response.ok) return null
  if (response.error.message.startsWith('connection lost')) return `no answer: ${response.error.message}`
  if (response.error.code === 'internal') return `internal error: ${response.error.message}`
  return null
}

function count(response: WireResponse): void {
  tally.requests += 1
  if (response.ok) tally.accepted += 1
  else tally.refused += 1
}

const inputs = new Map<RouteName, fc.Arbitrary<unknown>>(routeNames.map((route) => [route, routeInput(route, paths)]))
const request = fc.constantFrom(...routeNames).chain((route) => fc.tuple(fc.constant(route), inputs.get(route) as fc.Arbitrary<unknown>))

describe('route fuzzer', () => {
  it(`answers ${runs} generated and hostile inputs across all routes`, async () => {
    await fc.assert(
      fc.asyncProperty(request, async ([route, input]) => {
        const response = await client.request(route, input)
        count(response)
        expect(problem(response), `${route} ${JSON.stringify(input)?.slice(0, 300)}`).toBeNull()
      }),
      { numRuns: runs, seed, timeout: 30_000 },
    )
    expect(await serve.serving()).toBe(true)
  })

  it(`answers ${runs} raw frames of any shape`, async () => {
    const envelope = fc.record(
      {
        kind: fc.oneof(fc.constant('request'), hostileValue(paths)),
        id: fc.oneof(fc.integer({ min: 1, max: 999_999 }), hostileValue(paths)),
        route: fc.oneof(fc.constantFrom(...routeNames), hostileValue(paths)),
        input: hostileValue(paths),
      },
      { requiredKeys: [] },
    )
    const frame = fc.oneof(
      envelope.map((message) => JSON.stringify(message)),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
    )
    await fc.assert(
      fc.asyncProperty(frame, async (text) => {
        let parsed: unknown = null
        try {
          parsed = JSON.parse(text)
        } catch {
          // Not JSON: the answer carries id 0.
        }
        const id =
          typeof parsed === 'object' && parsed !== null && typeof (parsed as { id?: unknown }).id === 'number'
            ? (parsed as { id: number }).id
            : 0
        const response = await client.sendRaw(id, text)
        count(response)
        expect(problem(response), text.slice(0, 300)).toBeNull()
      }),
      { numRuns: runs, seed, timeout: 30_000 },
    )
    expect(await serve.serving()).toBe(true)
    console.log(
      `route fuzzer: ${tally.requests} requests (${runs} runs of each property${seed === undefined ? '' : `, seed ${seed}`}): ${tally.accepted} accepted, ${tally.refused} refused, none unanswered`,
    )
  })
})
