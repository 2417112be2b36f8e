// No import cycles in electron/ or renderer/src (issue 24). A cycle makes load order decide
// whether a module sees its neighbour's exports (undefined at import time), and it means two
// modules are really one: the shared piece belongs in a third module both import.
//
// The graph is read with the TypeScript compiler's parser: every static `import ... from`,
// `import type`, `export ... from` and `import x = require(...)` between our own files, with
// the @shared alias of tsconfig.base.json. Type-only imports count too: they are still a
// dependency between the two files. A dynamic `import()` does not (it is how a module defers
// loading another on purpose).
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = path.resolve(__dirname, '../..')
const extensions = ['.ts', '.tsx', '.mts', '.js', '.mjs']

/** Every source file under ``folder``, as absolute paths. */
function sourceFiles(folder: string): string[] {
  const found: string[] = []
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name)
    if (entry.isDirectory()) found.push(...sourceFiles(full))
    else if (extensions.includes(path.extname(entry.name)) && !entry.name.endsWith('.d.ts')) found.push(full)
  }
  return found
}

/** The module specifiers of a file's static imports and re-exports. */
function specifiers(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false)
  const names: string[] = []
  for (const statement of source.statements) {
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      names.push(statement.moduleSpecifier.text)
    } else if (
      ts.isImportEqualsDeclaration(statement) &&
      ts.isExternalModuleReference(statement.moduleReference) &&
      ts.isStringLiteral(statement.moduleReference.expression)
    ) {
      names.push(statement.moduleReference.expression.text)
    }
  }
  return names
}

/** The file a specifier names, or null for a package (node:fs, zod, react ...). */
function resolve(from: string, specifier: string): string | null {
  let base: string
  if (specifier === '@shared') base = path.join(root, 'electron/shared/index')
  else if (specifier.startsWith('@shared/')) base = path.join(root, 'electron/shared', specifier.slice('@shared/'.length))
  else if (specifier.startsWith('.')) base = path.resolve(path.dirname(from), specifier)
  else return null
  const stripped = base.replace(/\.(js|mjs|ts|tsx)$/, '')
  const candidates = [base, ...[stripped, path.join(base, 'index')].flatMap((stem) => extensions.map((extension) => stem + extension))]
  const file = candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile())
  if (!file) throw new Error(`${path.relative(root, from)}: cannot resolve import '${specifier}'`)
  return file
}

/** Import graph: file -> the files it imports (our own only). */
function importGraph(folders: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of folders.flatMap((folder) => sourceFiles(path.join(root, folder)))) {
    const targets = specifiers(file)
      .map((specifier) => resolve(file, specifier))
      .filter((target): target is string => target !== null)
    graph.set(file, [...new Set(targets)])
  }
  return graph
}

/** Each cycle as the files on it, relative to the repository root (one per strongly connected group). */
function cycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's strongly connected components; a few hundred files deep at most, so recursion is fine.
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (node: string): number => {
    const order = index.size
    index.set(node, order)
    let lowest = order
    stack.push(node)
    onStack.add(node)
    for (const target of graph.get(node) ?? []) {
      const seen = index.get(target)
      if (seen === undefined) lowest = Math.min(lowest, visit(target))
      else if (onStack.has(target)) lowest = Math.min(lowest, seen)
    }
    low.set(node, lowest)
    if (lowest === order) {
      const group: string[] = []
      for (let member = stack.pop(); member !== undefined; member = member === node ? undefined : stack.pop()) {
        onStack.delete(member)
        group.push(path.relative(root, member))
      }
      if (group.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(group.sort())
    }
    return lowest
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return found
}

describe('import graph', () => {
  it('finds a cycle when there is one (the check itself works)', () => {
    const graph = new Map([
      [path.join(root, 'a.ts'), [path.join(root, 'b.ts')]],
      [path.join(root, 'b.ts'), [path.join(root, 'c.ts')]],
      [path.join(root, 'c.ts'), [path.join(root, 'a.ts')]],
      [path.join(root, 'd.ts'), [path.join(root, 'a.ts')]],
    ])
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts']])
  })

  it('reads our own imports of electron/cli/run.ts, type-only ones included', () => {
    const graph = importGraph(['electron'])
    const imported = (graph.get(path.join(root, 'electron/cli/run.ts')) ?? []).map((file) => path.relative(root, file))
    expect(imported).toContain('electron/cli/chat.ts')
    expect(imported).toContain('electron/cli/client.ts') // `import type { CliClient }`
    expect(imported.some((file) => file.startsWith('electron/shared/'))).toBe(true) // the @shared alias
  })

  it('has no cycle in electron/ and renderer/src', () => {
    const graph = importGraph(['electron', 'renderer/src'])
    expect(graph.size).toBeGreaterThan(100)
    expect(cycles(graph)).toEqual([])
  })
})
