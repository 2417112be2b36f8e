/**
 * The import rules of eslint.config.js, read through ESLint itself: each layer refuses what sits
 * above it and accepts what sits below. `npm run lint` checks the tree; this checks the rules.
 */
import { join } from 'node:path'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const eslint = new ESLint({ cwd: join(__dirname, '..', '..') })

/** The no-restricted-imports messages for `import ... from 'specifier'` in a file at `path` (it need not exist). */
async function refusals(path: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from '${specifier}'\nexport const y = x\n`, { filePath: path })
  return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message)
}

describe('the layer rules inside the renderer', () => {
  it('keep logic/ pure: no component, store, view or client (logic/datasetChecks.ts once imported a component’s type)', async () => {
    expect(await refusals('renderer/src/logic/datasetChecks.ts', '../components/useDatasetPreview')).toEqual([
      expect.stringContaining('logic/ is pure functions of data'),
    ])
    for (const specifier of ['../stores/jobs', '../views/HomeView', '../api/client']) {
      expect(await refusals('renderer/src/logic/example.ts', specifier), specifier).toHaveLength(1)
    }
    expect(await refusals('renderer/src/logic/datasetChecks.ts', './datasetPreview')).toEqual([])
  })

  it('let stores use the client and logic, never components or views', async () => {
    expect(await refusals('renderer/src/stores/example.ts', '../api/client')).toEqual([])
    expect(await refusals('renderer/src/stores/example.ts', '../logic/metrics')).toEqual([])
    expect(await refusals('renderer/src/stores/example.ts', '../components/Field')).toEqual([expect.stringContaining('never the UI')])
    expect(await refusals('renderer/src/stores/example.ts', '../views/HomeView')).toEqual([expect.stringContaining('never the UI')])
  })

  it('let views use components and stores, while components never import views or App', async () => {
    expect(await refusals('renderer/src/views/Example.tsx', '../components/Field')).toEqual([])
    expect(await refusals('renderer/src/views/Example.tsx', '../stores/jobs')).toEqual([])
    expect(await refusals('renderer/src/components/Example.tsx', '../views/HomeView')).toEqual([expect.stringContaining('pieces of views')])
    expect(await refusals('renderer/src/components/Example.tsx', '../App')).toEqual([expect.stringContaining('Only main.tsx')])
  })

  it('still keep every folder out of Electron and the host', async () => {
    expect(await refusals('renderer/src/logic/example.ts', 'electron')).toEqual([expect.stringContaining('browser sandbox')])
    expect(await refusals('renderer/src/views/Example.tsx', '../../../electron/host/host')).toEqual([
      expect.stringContaining('contract client'),
    ])
    expect(await refusals('renderer/src/views/Example.tsx', '@shared/jobs')).toEqual([])
  })
})

describe('the layer rules inside the host and the contract', () => {
  it('keep a host area from importing the composition root or the network edge', async () => {
    expect(await refusals('electron/host/jobs/example.ts', '../host')).toEqual([expect.stringContaining('does not import them')])
    expect(await refusals('electron/host/jobs/example.ts', '../handlers')).toEqual([expect.stringContaining('does not import them')])
    expect(await refusals('electron/host/adapters/example.ts', '../transport/server')).toEqual([expect.stringContaining('network edge')])
    expect(await refusals('electron/host/jobs/example.ts', '../store/database')).toEqual([])
    expect(await refusals('electron/host/transport/example.ts', '../host')).toEqual([])
    expect(await refusals('electron/host/jobs/example.ts', 'electron')).toEqual([expect.stringContaining('plain Node')])
    expect(await refusals('electron/host/jobs/example.ts', '../../main/index')).toEqual([
      expect.stringContaining('only imports electron/shared'),
    ])
  })

  it('let electron/shared import zod and itself, nothing else', async () => {
    expect(await refusals('electron/shared/example.ts', 'zod')).toEqual([])
    expect(await refusals('electron/shared/example.ts', './config')).toEqual([])
    for (const specifier of ['node:fs', 'electron', '../host/host', 'react']) {
      expect(await refusals('electron/shared/example.ts', specifier), specifier).toEqual([
        expect.stringContaining('it imports zod and its own modules'),
      ])
    }
  })
})
