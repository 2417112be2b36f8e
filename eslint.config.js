// One lint config for the whole repo. The import rules keep the layers honest:
// shared <- host, main, preload, renderer; the renderer never reaches host or main,
// the host never imports electron, and the contract imports nothing but zod.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const layer = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
})

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
  layer(['electron/shared/**'], [
    { group: ['electron', 'electron/*', 'node:*', 'fs', 'path', 'os', 'child_process'], message: 'electron/shared is the contract: it imports nothing from electron, node or the DOM.' },
    { group: ['**/host/**', '**/main/**', '**/preload/**', '**/renderer/**'], message: 'electron/shared imports nothing from other layers.' },
  ]),
  layer(['electron/host/**'], [
    { group: ['electron', 'electron/*'], message: 'The host is plain Node: it runs headless without Electron.' },
    { group: ['**/main/**', '**/preload/**', '**/renderer/**'], message: 'The host only imports electron/shared.' },
  ]),
  layer(['renderer/**'], [
    // A regex, not the group 'electron/*': gitignore-style groups also match the
    // relative '../../electron/shared' path through which the renderer must import the contract.
    { regex: '^(electron(/.*)?|node:.*)$', message: 'The renderer runs in a browser sandbox.' },
    { group: ['**/host/**', '**/main/**', '**/preload/**', '**/electron/host*', '**/electron/main*'], message: 'The renderer talks to the host only through the contract client.' },
  ]),
  layer(['electron/cli/**'], [
    { group: ['electron', 'electron/*'], message: 'The command line is plain Node: it runs without Electron.' },
    { group: ['**/host/**', '**/main/**', '**/preload/**', '**/renderer/**'], message: 'The command line is a client: it imports only electron/shared and talks to the host over its routes.' },
  ]),
  layer(['electron/preload/**'], [
    { group: ['**/host/**', '**/main/**', '**/renderer/**'], message: 'The preload only forwards; it imports electron and the contract.' },
  ]),
  layer(['electron/main/**'], [
    { group: ['**/renderer/**', '**/preload/**'], message: 'Main imports the contract; it starts the host as a separate process.' },
  ]),
)
