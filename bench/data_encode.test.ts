/**
 * bench/data_encode.py at smoke size (npm test) or full size (BENCH=full): the encoder, the
 * preview's token statistics and the per-record encoding against the floor (render + batch
 * encode). Asserts only that each part measured something and that the masks were compared
 * (the script fails when they differ); the numbers are printed for docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const full = process.env.BENCH === 'full'

describe('data encode benchmark', () => {
  it(`measures the encoder against its floor (${full ? 'full' : 'smoke'} size)`, () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tunedeck-bench-encode-'))
    try {
      const out = path.join(folder, 'result.json')
      const sizes = full ? [] : ['--rows', '300', '--baseline-rows', '50']
      const run = spawnSync(process.execPath, ['scripts/python.mjs', 'bench/data_encode.py', ...sizes, '--out', out], { encoding: 'utf8' })
      console.log(run.stdout, run.stderr)
      expect(run.status).toBe(0)
      const result = JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, number>
      for (const key of ['floorSeconds', 'encoderSeconds', 'previewSeconds', 'perRecordSeconds']) expect(result[key]).toBeGreaterThan(0)
      expect(result.masksChecked).toBe(full ? 1000 : 50)
    } finally {
      fs.rmSync(folder, { recursive: true, force: true })
    }
  })
})
