// One lint config for the whole repo. The import rules keep the layers honest:
// shared <- host, main, preload, renderer; the renderer never reaches host or main,
// the host never imports electron, and the contract imports nothing but zod.
// Within the renderer and within the host, imports point down too (see the layers below).
// Prettier decides layout (`npm run format`); eslint-config-prettier, last, turns off the
// stylistic rules that would disagree with it.
import js from '@eslint/js'
import prettier from 'eslint-config-prettier/flat'
import tseslint from 'typescript-eslint'

// A file gets one no-restricted-imports setting (the last matching block wins), so a folder's
// layer repeats the patterns of the layer around it.
const layer = (files, patterns, ignores = []) => ({
  files,
  ignores,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
})

/** Relative imports of these renderer/src folders, from a file one folder below renderer/src. */
const rendererFolders = (names, message) => ({ regex: `^\\.\\./(${names.join('|')})(/|$)`, message })

const renderer = [
  // A regex, not the group 'electron/*': gitignore-style groups also match the
  // relative '../../electron/shared' path through which the renderer must import the contract.
  { regex: '^(electron(/.*)?|node:.*)$', message: 'The renderer runs in a browser sandbox.' },
  {
    group: ['**/host/**', '**/main/**', '**/preload/**', '**/electron/host*', '**/electron/main*'],
    message: 'The renderer talks to the host only through the contract client.',
  },
]
const upToApp = { regex: '^(\\.\\./)+(App|main)$', message: 'Only main.tsx mounts App.' }

const host = [
  { group: ['electron', 'electron/*'], message: 'The host is plain Node: it runs headless without Electron.' },
  { group: ['**/main/**', '**/preload/**', '**/renderer/**'], message: 'The host only imports electron/shared.' },
]

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'python-runtime/**', '.data/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { console: 'readonly', process: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-undef': 'off',
    },
  },
  layer(
    ['electron/shared/**'],
    [
      // Relative imports stay inside the contract; the one package it uses is zod.
      { regex: '^(?!zod$|\\./)', message: 'electron/shared is the contract: it imports zod and its own modules, nothing else.' },
    ],
  ),
  layer(['electron/host/**'], host),
  // The host's areas (adapters, chat, datasets, jobs, store, trainer, ...) are used by its composition
  // root (host.ts, handlers.ts, serve.ts, utility.ts) and by transport/, the HTTP and WebSocket edge; never the reverse.
  layer(
    ['electron/host/*/**'],
    [
      ...host,
      {
        regex: '^(\\.\\./)+(host|handlers|serve|utility)$',
        message: 'A host area is used by host.ts and handlers.ts; it does not import them (pass what it needs in).',
      },
      { regex: '^(\\.\\./)+transport(/|$)', message: 'transport/ is the host’s network edge: areas do not import it.' },
    ],
    ['electron/host/transport/**'],
  ),
  layer(['renderer/**'], renderer),
  // Inside renderer/src, from the bottom: logic (pure functions and the data they work on) <- api (the
  // contract client) <- stores (state and actions) <- components <- views <- App. A folder imports its
  // own modules and the folders below it.
  layer(
    ['renderer/src/logic/**'],
    [
      ...renderer,
      upToApp,
      rendererFolders(
        ['api', 'stores', 'components', 'views'],
        'logic/ is pure functions of data: it talks to no client, store or component.',
      ),
    ],
  ),
  layer(
    ['renderer/src/api/**'],
    [
      ...renderer,
      upToApp,
      rendererFolders(
        ['stores', 'components', 'views'],
        'api/ is the contract client: it imports the contract and logic/, never state or UI.',
      ),
    ],
  ),
  layer(
    ['renderer/src/stores/**'],
    [
      ...renderer,
      upToApp,
      rendererFolders(['components', 'views'], 'Stores hold state for the views; they import the client and logic/, never the UI.'),
    ],
  ),
  layer(
    ['renderer/src/components/**'],
    [...renderer, upToApp, rendererFolders(['views'], 'Components are pieces of views: a view imports them, not the reverse.')],
  ),
  layer(['renderer/src/views/**'], [...renderer, upToApp]),
  layer(
    ['electron/cli/**'],
    [
      { group: ['electron', 'electron/*'], message: 'The command line is plain Node: it runs without Electron.' },
      {
        group: ['**/host/**', '**/main/**', '**/preload/**', '**/renderer/**'],
        message: 'The command line is a client: it imports only electron/shared and talks to the host over its routes.',
      },
    ],
  ),
  layer(
    ['electron/preload/**'],
    [
      {
        group: ['**/host/**', '**/main/**', '**/renderer/**'],
        message: 'The preload only forwards; it imports electron and the contract.',
      },
    ],
  ),
  layer(
    ['electron/main/**'],
    [{ group: ['**/renderer/**', '**/preload/**'], message: 'Main imports the contract; it starts the host as a separate process.' }],
  ),
  prettier,
)
