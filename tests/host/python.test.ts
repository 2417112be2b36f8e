/**
 * The Python environment as the Set-up screen sees it: the probe of a real
 * interpreter, a missing one named in the error, and a real venv created by
 * setup() from a tiny local wheel (no network, no torch).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { pythonInfoSchema, setupProgressSchema, type SetupProgress } from '@shared/system'
import { PythonEnvironment } from '../../electron/host/python/environment'
import { locatePython, probePython, venvPython } from '../../electron/host/python/interpreter'
import { countRequirements } from '../../electron/host/python/progress'
import { trainerPython } from './trainerPython'

const ciPython = trainerPython()
const workDir = mkdtempSync(join(tmpdir(), 'tunedeck-python-'))
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

/** Builds a one-module wheel by hand so pip installs it offline. */
function writeWheel(dir: string): void {
  const script = `
import base64, hashlib, sys, zipfile
name, version = "tunedeck_probe_pkg", "0.1"
files = {
    f"{name}/__init__.py": "VALUE = 42\\n",
    f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n",
    f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = []
with zipfile.ZipFile(f"{sys.argv[1]}/{name}-{version}-py3-none-any.whl", "w") as wheel:
    for path, text in files.items():
        wheel.writestr(path, text)
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text)}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    wheel.writestr(f"{name}-{version}.dist-info/RECORD", "\\n".join(record) + "\\n")
`
  execFileSync(ciPython, ['-c', script, dir])
}

describe('Python environment', () => {
  it('probes a good interpreter: Python and torch versions', async () => {
    const location = locatePython(workDir, { TUNEDECK_PYTHON: ciPython })
    expect(location).toEqual({ source: 'env', path: ciPython })
    const info = pythonInfoSchema.parse(await probePython(location))
    expect(info.found).toBe(true)
    expect(info.version).toMatch(/^3\.\d+\.\d+/)
    expect(info.torch).toMatch(/^2\.9\.1/)
    expect(info.cudaAvailable).toBe(false)
    expect(info.error).toBeNull()
  })

  it('reports TUNEDECK_PYTHON pointing at a missing file, and resolvePython refuses it', async () => {
    const missing = join(workDir, 'no-such-python')
    const environment = new PythonEnvironment({
      dataDir: workDir,
      pythonRuntimeDir: workDir,
      emit: () => undefined,
      env: { TUNEDECK_PYTHON: missing },
    })
    const info = await environment.probe()
    expect(info).toMatchObject({ found: false, source: 'env', path: missing, torch: null })
    expect(info.error).toContain(missing)
    expect(environment.envState()).toBe('missing')
    await expect(environment.resolvePython()).rejects.toMatchObject({ code: 'python_missing' })
  })

  it('with nothing set, says the environment is missing and how to fix it', async () => {
    const environment = new PythonEnvironment({
      dataDir: join(workDir, 'empty'),
      pythonRuntimeDir: workDir,
      emit: () => undefined,
      env: {},
    })
    expect((await environment.probe()).source).toBe('none')
    await expect(environment.resolvePython()).rejects.toEqual({
      code: 'python_missing',
      message: 'Python environment is not set up: open Set-up and install it, or set TUNEDECK_PYTHON.',
    })
  })

  it('counts requirements, not comments or options', () => {
    expect(countRequirements('# pinned\ntorch==2.9.1\n\n--no-index\nnumpy==2.3.5  # why\n')).toBe(2)
  })

  it('sets up a real venv: installing -> ready, progress reaches 1, the venv runs', async () => {
    const wheels = join(workDir, 'wheels')
    execFileSync('mkdir', ['-p', wheels])
    writeWheel(wheels)
    const requirementsFile = join(workDir, 'requirements.txt')
    writeFileSync(
      requirementsFile,
      `# a tiny stand-in for the trainer's pins\n--no-index\n--find-links ${wheels}\ntunedeck-probe-pkg==0.1\n`,
    )
    const dataDir = join(workDir, 'data')
    const events: SetupProgress[] = []
    const environment = new PythonEnvironment({
      dataDir,
      pythonRuntimeDir: workDir,
      requirementsFile,
      basePython: ciPython,
      emit: (progress) => events.push(setupProgressSchema.parse(progress)),
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    })
    expect(environment.envState()).toBe('missing')

    const first = environment.setup()
    expect(first.state).toBe('installing')
    // A second call while it runs returns the running one's progress, not a new set-up.
    expect(environment.setup().state).toBe('installing')
    expect(environment.envState()).toBe('installing')
    const final = await environment.settled()

    expect(final).toMatchObject({ state: 'ready', progress: 1, error: null })
    expect(events.at(-1)?.state).toBe('ready')
    expect(events.slice(0, -1).every((event) => event.state === 'installing')).toBe(true)
    const progress = events.map((event) => event.progress)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
    expect(events.some((event) => event.text.startsWith('Successfully installed tunedeck-probe-pkg'))).toBe(true)

    const python = venvPython(join(dataDir, 'python-env'))
    expect(existsSync(join(dataDir, 'python-env.partial'))).toBe(false)
    expect(execFileSync(python, ['-c', 'import tunedeck_probe_pkg as m; print(m.VALUE)']).toString().trim()).toBe('42')
    expect(environment.envState()).toBe('ready')
    expect(await environment.resolvePython()).toBe(python)
    const info = await environment.probe()
    expect(info).toMatchObject({ found: true, source: 'venv', path: python, torch: null })
    expect(info.error).toMatch(/torch could not be imported/)
    expect(environment.setup()).toMatchObject({ state: 'ready', progress: 1 })
  })

  it('fails with the last lines of pip output when a requirement cannot be found', async () => {
    const requirementsFile = join(workDir, 'broken.txt')
    writeFileSync(requirementsFile, `--no-index\n--find-links ${join(workDir, 'wheels')}\nno-such-package-tunedeck==9.9\n`)
    const dataDir = join(workDir, 'broken-data')
    const environment = new PythonEnvironment({
      dataDir,
      pythonRuntimeDir: workDir,
      requirementsFile,
      basePython: ciPython,
      emit: () => undefined,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    })
    environment.setup()
    const final = await environment.settled()
    expect(final?.state).toBe('failed')
    expect(final?.error).toMatch(/no-such-package-tunedeck/)
    expect(final?.error).toContain(join(dataDir, 'python-setup.log'))
    expect(existsSync(join(dataDir, 'python-env'))).toBe(false)
    expect(environment.envState()).toBe('failed')
  })
})
