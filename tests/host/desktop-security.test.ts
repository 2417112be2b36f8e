/**
 * The desktop app's security settings, checked without running Electron (the
 * binary is not installed here): the fuses electron-builder flips at
 * packaging, the window's webPreferences, the CSP, exact origin checks,
 * which links may open in the user's browser, and that a packaged app
 * ignores ELECTRON_RENDERER_URL. (Kept under tests/host/ because vitest
 * collects tests from there; the code is electron/main/policy.ts.)
 */
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  appOrigin,
  contentSecurityPolicy,
  isAllowedExternal,
  isSameOrigin,
  originOf,
  rendererUrl,
  windowWebPreferences,
} from '../../electron/main/policy'
import { dialogOptions } from '../../electron/main/dialogs'

const repoDir = resolve(__dirname, '../..')

/** The `key: value` pairs of one top-level block of electron-builder.yml (flat blocks only). */
function yamlBlock(text: string, name: string): Record<string, string> {
  const lines = text.split('\n')
  const start = lines.findIndex((line) => line === `${name}:`)
  if (start < 0) return {}
  const values: Record<string, string> = {}
  for (const line of lines.slice(start + 1)) {
    if (!/^\s/.test(line) && line.trim() !== '') break
    const match = /^\s+([A-Za-z]+):\s*(\S+)\s*$/.exec(line)
    if (match?.[1] && match[2]) values[match[1]] = match[2]
  }
  return values
}

describe('the packaged app', () => {
  const config = readFileSync(join(repoDir, 'electron-builder.yml'), 'utf8')

  it('flips the fuses: no ELECTRON_RUN_AS_NODE, NODE_OPTIONS or --inspect; only the checked ASAR loads', () => {
    expect(yamlBlock(config, 'electronFuses')).toEqual({
      runAsNode: 'false',
      enableNodeOptionsEnvironmentVariable: 'false',
      enableNodeCliInspectArguments: 'false',
      enableCookieEncryption: 'true',
      enableEmbeddedAsarIntegrityValidation: 'true',
      onlyLoadAppFromAsar: 'true',
      grantFileProtocolExtraPrivileges: 'false',
    })
    // onlyLoadAppFromAsar needs the app packed in an ASAR.
    expect(config).not.toMatch(/^asar:\s*false/m)
  })
})

describe('the window', () => {
  it('is isolated and sandboxed, without Node, webviews or insecure content', () => {
    expect(windowWebPreferences('/app/preload/index.cjs')).toEqual({
      preload: '/app/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      disableBlinkFeatures: 'Auxclick',
    })
  })

  it('sends a CSP that runs only its own scripts and connects nowhere else', () => {
    const directives = new Map(
      contentSecurityPolicy.split(';').map((part) => {
        const [name = '', ...values] = part.trim().split(/\s+/)
        return [name, values.join(' ')]
      }),
    )
    expect(directives.get('default-src')).toBe("'self'")
    expect(directives.get('script-src')).toBe("'self'")
    expect(directives.get('connect-src')).toBe("'self'")
    expect(directives.get('object-src')).toBe("'none'")
    expect(directives.get('frame-src')).toBe("'none'")
    expect(contentSecurityPolicy).not.toMatch(/unsafe-eval|\*|http:|ws:/)
  })

  it('compares origins exactly, not by prefix', () => {
    expect(originOf('app://tunedeck/index.html')).toBe(appOrigin)
    expect(isSameOrigin('app://tunedeck/index.html#/jobs/1', appOrigin)).toBe(true)
    for (const url of [
      'app://tunedeck.evil.example/index.html',
      'app://tunedeckx/index.html',
      'app://evil@tunedeck.example/',
      'app://tunedeck:81/index.html',
      'https://tunedeck/index.html',
      'file:///tmp/index.html',
      'not a url',
      '',
    ]) {
      expect(isSameOrigin(url, appOrigin), url).toBe(false)
    }
    expect(isSameOrigin('http://localhost:5173/src/main.tsx', 'http://localhost:5173')).toBe(true)
    expect(isSameOrigin('http://localhost:51730/', 'http://localhost:5173')).toBe(false)
  })

  it('opens only https links to the documentation and the Hugging Face Hub outside the app', () => {
    for (const url of [
      'https://huggingface.co/Qwen/Qwen2.5-0.5B',
      'https://docs.nvidia.com/cuda/',
      'https://pytorch.org/get-started/locally/',
    ]) {
      expect(isAllowedExternal(url), url).toBe(true)
    }
    for (const url of [
      'http://huggingface.co/',
      'https://huggingface.co.evil.example/',
      'https://evil.example/?huggingface.co',
      'https://user:pass@huggingface.co/',
      'https://huggingface.co:8443/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://huggingface.co/share',
      'ms-settings:',
      'not a url',
    ]) {
      expect(isAllowedExternal(url), url).toBe(false)
    }
  })

  it('ignores ELECTRON_RENDERER_URL in a packaged app, and any but a loopback dev server', () => {
    expect(rendererUrl(true, 'http://localhost:5173/')).toBe('app://tunedeck/index.html')
    expect(rendererUrl(false, 'http://localhost:5173/')).toBe('http://localhost:5173/')
    expect(rendererUrl(false, 'http://127.0.0.1:5173/')).toBe('http://127.0.0.1:5173/')
    expect(rendererUrl(false, 'https://evil.example/')).toBe('app://tunedeck/index.html')
    expect(rendererUrl(false, 'http://localhost.evil.example:5173/')).toBe('app://tunedeck/index.html')
    expect(rendererUrl(false, undefined)).toBe('app://tunedeck/index.html')
  })
})

describe('native open dialogs', () => {
  // Windows and Linux show a folder picker only when a dialog asks for files and folders at once.
  it('asks for files or for folders, never both in one dialog', () => {
    expect(dialogOptions('dataset').properties).toEqual(['openFile'])
    expect(dialogOptions('dataset').filters?.[0]?.extensions).toContain('jsonl')
    expect(dialogOptions('dataset-folder').properties).toEqual(['openDirectory'])
    expect(dialogOptions('model-folder').properties).toEqual(['openDirectory'])
    expect(dialogOptions('anything else').properties).toEqual(['openFile'])
  })
})
