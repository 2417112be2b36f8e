/**
 * An export interrupted by the host's death leaves its .partial zip beside the user's chosen
 * destination; the next host (its ExportService) removes it, and leaves alone the .partial of an
 * export whose host still runs, and any file that is not a .partial zip.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { ExportService } from '../../electron/host/exports/service'
import { temporaryDir } from './jobs.harness'

const dir = temporaryDir('tunedeck-export-partials-')
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

function record(dataDir: string, pid: number, partial: string): string {
  const folder = path.join(dataDir, 'exports-running')
  fs.mkdirSync(folder, { recursive: true })
  const file = path.join(folder, `${pid}-0a1b2c3d.json`)
  fs.writeFileSync(file, JSON.stringify({ partial }))
  return file
}

it("removes the .partial zips of a dead host's exports, and only those", () => {
  const dataDir = path.join(dir, 'data')
  const desktop = path.join(dir, 'Desktop')
  fs.mkdirSync(desktop, { recursive: true })
  // A pid that is surely gone: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number
  const abandoned = path.join(desktop, 'model.zip.partial')
  const stillWriting = path.join(desktop, 'other.zip.partial')
  const notAPartial = path.join(desktop, 'notes.txt')
  for (const file of [abandoned, stillWriting, notAPartial]) fs.writeFileSync(file, 'half a zip')
  const deadRecord = record(dataDir, dead, abandoned)
  const liveRecord = record(dataDir, process.ppid, stillWriting)
  const hostileRecord = record(dataDir, dead + 1_000_000, notAPartial)

  new ExportService({
    dataDir,
    appVersion: 'test',
    pythonRuntimeDir: '',
    resolvePython: () => Promise.reject(new Error('unused')),
    getJob: () => Promise.reject(new Error('unused')),
    emit: () => undefined,
  })

  expect(fs.existsSync(abandoned)).toBe(false)
  expect(fs.existsSync(deadRecord)).toBe(false)
  expect(fs.existsSync(stillWriting)).toBe(true)
  expect(fs.existsSync(liveRecord)).toBe(true)
  // A record can only ever remove a .partial zip.
  expect(fs.existsSync(notAPartial)).toBe(true)
  expect(fs.existsSync(hostileRecord)).toBe(false)
})
