/**
 * The trainer-side plumbing of the host: the events tailer against the
 * shared protocol vectors and a file written in pieces, and a trainer in a
 * real pty (control input, exit codes, killing a whole process tree).
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { TrainerEvent } from '@shared/protocol'
import { TrainerProcess, type TrainerExit } from '../../electron/host/trainer/process'
import { EventTailer, readEvents, type InvalidLine } from '../../electron/host/trainer/tailer'
import { TerminalLog, stripControl } from '../../electron/host/trainer/terminal'
import { processStartTime, isSameProcessAlive } from '../../electron/host/trainer/tree'
import { processAlive, python, repoRoot, temporaryDir, waitFor } from './jobs.harness'

const protocolDir = path.join(repoRoot, 'tests', 'fixtures', 'protocol')
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = temporaryDir()
  dirs.push(dir)
  return dir
}

const line = (seq: number, type = 'heartbeat') => JSON.stringify({ v: 1, seq, time: 1, type, phase: 'training' }) + '\n'

describe('events tailer', () => {
  it('accepts every valid protocol vector', () => {
    const file = path.join(protocolDir, 'valid.jsonl')
    const invalid: InvalidLine[] = []
    const batch = readEvents(file, 0, (problem) => invalid.push(problem))
    const lines = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((text) => text.trim() !== '')
    expect(invalid).toEqual([])
    expect(batch.events).toHaveLength(lines.length)
    expect(batch.offset).toBe(fs.statSync(file).size)
  })

  it('skips every invalid vector, reporting all but the unknown event type', () => {
    const file = path.join(protocolDir, 'invalid.jsonl')
    const reasons = fs.readFileSync(path.join(protocolDir, 'invalid-reasons.txt'), 'utf8').split('\n').slice(1).filter(Boolean)
    const invalid: InvalidLine[] = []
    const batch = readEvents(file, 0, (problem) => invalid.push(problem))
    expect(batch.events).toEqual([])
    const unknownLine = reasons.indexOf('unknown type') + 1
    expect(unknownLine).toBeGreaterThan(0)
    expect(invalid.map((problem) => problem.line)).toEqual(reasons.map((_, index) => index + 1).filter((number) => number !== unknownLine))
  })

  it('reads only whole lines and ends its offset at the last newline', () => {
    const file = path.join(tempDir(), 'events.jsonl')
    const whole = line(1) + line(2)
    fs.writeFileSync(file, whole + line(3).slice(0, 10))
    const first = readEvents(file, 0, () => undefined)
    expect(first.events.map((event) => event.seq)).toEqual([1, 2])
    expect(first.offset).toBe(Buffer.byteLength(whole))
    fs.appendFileSync(file, line(3).slice(10))
    const second = readEvents(file, first.offset, () => undefined)
    expect(second.events.map((event) => event.seq)).toEqual([3])
    expect(readEvents(file, second.offset, () => undefined)).toMatchObject({ events: [], sawLines: false })
  })

  it('follows a file that appears later and grows in pieces', async () => {
    const file = path.join(tempDir(), 'events.jsonl')
    const seen: TrainerEvent[] = []
    let offset = 0
    const tailer = new EventTailer({
      file,
      offset: 0,
      onBatch: (batch) => (seen.push(...batch.events), (offset = batch.offset)),
      onInvalid: () => undefined,
    })
    tailer.start()
    try {
      fs.writeFileSync(file, line(1) + line(2).slice(0, 5))
      await waitFor(
        () => seen.length === 1,
        3000,
        () => 'the first event',
      )
      fs.appendFileSync(file, line(2).slice(5) + line(3))
      await waitFor(
        () => seen.length === 3,
        3000,
        () => 'the next events',
      )
    } finally {
      tailer.stop()
    }
    expect(seen.map((event) => event.seq)).toEqual([1, 2, 3])
    expect(offset).toBe(fs.statSync(file).size)
  })
})

describe('terminal log', () => {
  it('returns the tail from a whole line and the last lines as a terminal shows them', () => {
    const log = new TerminalLog(tempDir())
    expect(log.tail()).toBe('')
    log.append('first line\r\n')
    log.append('\x1b[32mprogress 10%\rprogress 100%\x1b[0m\r\n')
    for (let index = 0; index < 30; index += 1) log.append(`line ${index}\n`)
    expect(log.lastLines(3)).toEqual(['line 27', 'line 28', 'line 29'])
    expect(log.lastLines(40)[1]).toBe('progress 100%')
    expect(log.tail(20)).toBe('line 28\nline 29\n')
    expect(stripControl('\x1b[1;31mred\x1b[0m')).toBe('red')
  })
})

/** Starts a Python snippet in a pty and collects its output and exit. */
function startPython(code: string, cwd: string): { process: TrainerProcess; output: () => string; exit: Promise<TrainerExit> } {
  let output = ''
  let resolveExit: (exit: TrainerExit) => void = () => undefined
  const exit = new Promise<TrainerExit>((resolve) => (resolveExit = resolve))
  const process = new TrainerProcess({
    command: { file: python, args: ['-c', code] },
    cwd,
    env: { PATH: globalThis.process.env.PATH ?? '', PYTHONUNBUFFERED: '1', MARKER: 'from-host' },
    onData: (data) => (output += data),
    onExit: resolveExit,
  })
  return { process, output: () => output, exit }
}

describe('trainer process in a pty', () => {
  it('keeps the last output of a trainer that exits before the host has read it', async () => {
    const lines = Array.from({ length: 100 }, (_, index) => `line ${index}`)
    const started = startPython(`print(${JSON.stringify(lines.join('\n'))}); print("the last line")`, tempDir())
    // The host's event loop too busy to read the pty for longer than node-pty waits after the exit
    // (200 ms, then it destroys the socket): as on a loaded 2-core machine, where a flood's last line was lost.
    ;(started.process as unknown as { terminal: { pause(): void } }).terminal.pause()
    expect(await started.exit).toEqual({ exitCode: 0, signal: null })
    expect(started.output().replaceAll('\r', '')).toBe([...lines, 'the last line', ''].join('\n'))
  })

  it('passes control commands as lines on stdin and reports the exit code', async () => {
    const dir = tempDir()
    const code = [
      'import json, os, sys',
      'print("ready", os.environ["MARKER"], os.getcwd(), flush=True)',
      'command = json.loads(sys.stdin.readline())',
      'print("got", command["cmd"], command.get("name"), flush=True)',
      'sys.exit(3)',
    ].join('\n')
    const started = startPython(code, dir)
    expect(started.process.startTime).toBe(processStartTime(started.process.pid))
    expect(isSameProcessAlive(started.process.pid, started.process.startTime)).toBe(true)
    expect(isSameProcessAlive(started.process.pid, '1')).toBe(false)
    await waitFor(
      () => started.output().includes('ready'),
      10_000,
      () => 'the child to start',
    )
    expect(started.output()).toContain(`ready from-host ${fs.realpathSync(dir)}`)
    started.process.send({ cmd: 'checkpoint', name: 'before-eval' })
    expect(await started.exit).toEqual({ exitCode: 3, signal: null })
    expect(started.output()).toContain('got checkpoint before-eval')
    expect(started.process.running).toBe(false)
  })

  it('kills the whole tree, children in their own session included', async () => {
    const dir = tempDir()
    const code = [
      'import signal, subprocess, sys, time',
      'signal.signal(signal.SIGINT, signal.SIG_IGN)',
      'sleeper = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"',
      'a = subprocess.Popen([sys.executable, "-c", sleeper])',
      'b = subprocess.Popen([sys.executable, "-c", sleeper], start_new_session=True)',
      'print("pids", a.pid, b.pid, flush=True)',
      'time.sleep(600)',
    ].join('\n')
    const started = startPython(code, dir)
    await waitFor(
      () => /pids \d+ \d+/.test(started.output()),
      10_000,
      () => 'the children to start',
    )
    const [, first, second] = /pids (\d+) (\d+)/.exec(started.output()) as RegExpExecArray
    const pids = [started.process.pid, Number(first), Number(second)]
    expect(pids.every(processAlive)).toBe(true)
    started.process.interrupt() // ignored by all of them
    started.process.kill()
    const exit = await started.exit
    expect(exit.signal).toBe(9)
    await waitFor(
      () => !pids.some(processAlive),
      2000,
      () => `processes ${pids.filter(processAlive)} to be gone`,
    )
  })
})
