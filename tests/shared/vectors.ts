/** Reads the shared vectors the Python trainer's tests check too. */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export const fixtures = join(__dirname, '..', 'fixtures')

/** Non-empty lines of a JSONL vector file, parsed. */
export function readJsonLines(file: string): unknown[] {
  return readFileSync(join(fixtures, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown)
}

/** Every .json file of a vector folder, by file name. */
export function readJsonFolder(folder: string): Array<[string, unknown]> {
  const dir = join(fixtures, folder)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json') && name !== 'cases.json')
    .sort()
    .map((name) => [name, JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown])
}
