/**
 * A big JSON Lines file imported through the host: copied and hashed as a
 * stream, checked by the trainer in one streamed pass, with the host's peak
 * memory measured while it happens (the file never sits in memory whole).
 * The size is TUNEDECK_BIG_JSONL_MB (default 24); run once with 1024 for the
 * 1 GB figure:
 *
 *   TUNEDECK_BIG_JSONL_MB=1024 TUNEDECK_PYTHON=... npx vitest run tests/host/datasets-bigfile.test.ts
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createHost, type Host } from '../../electron/host/host'
import { python, pythonRuntimeDir, resourcesDir, temporaryDir } from './jobs.harness'

const workDir = temporaryDir('tunedeck-bigfile-')
const megabytes = Number(process.env.TUNEDECK_BIG_JSONL_MB ?? '24')
let host: Host

beforeAll(async () => {
  process.env.TUNEDECK_PYTHON ??= python
  host = createHost({ dataDir: path.join(workDir, 'data'), resourcesDir, pythonRuntimeDir, appVersion: '0.1.0-test' })
  await host.start()
})

afterAll(async () => {
  await host?.shutdown()
  fs.rmSync(workDir, { recursive: true, force: true })
})

it(`imports a ${megabytes} MiB JSONL with a flat host memory`, { timeout: 1_800_000 }, async () => {
  const file = path.join(workDir, 'big.jsonl')
  const line = `${JSON.stringify({
    messages: [
      { role: 'user', content: 'Question?' },
      { role: 'assistant', content: 'An answer. '.repeat(8) },
    ],
  })}\n`
  const chunk = line.repeat(10_000)
  const handle = fs.openSync(file, 'w')
  const hash = createHash('sha256')
  let bytes = 0
  while (bytes < megabytes * 1024 * 1024) {
    fs.writeSync(handle, chunk)
    hash.update(chunk)
    bytes += Buffer.byteLength(chunk)
  }
  fs.closeSync(handle)
  const rows = bytes / Buffer.byteLength(line)

  global.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
  const started = Date.now()
  const { dataset } = await host.datasets.importPath(file)
  clearInterval(sampler)
  const seconds = (Date.now() - started) / 1000
  fs.rmSync(file)
  const grown = (peak - before) / 2 ** 20
  console.log(
    `imported ${(bytes / 2 ** 20).toFixed(0)} MiB (${rows} rows) in ${seconds.toFixed(1)} s; host RSS ${(before / 2 ** 20).toFixed(0)} -> peak ${(peak / 2 ** 20).toFixed(0)} MiB (+${grown.toFixed(0)})`,
  )
  expect(dataset).toMatchObject({ rows, usable: rows, bad: 0, bytes, sha256: hash.digest('hex'), format: 'openai' })
  // Streams hold a few chunks at a time; the file's size must not show in the host's memory.
  expect(grown).toBeLessThan(96)
})
