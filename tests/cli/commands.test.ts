/** The tunedeck command line's grammar: each usage mistake gets its one-line message, and start's settings land where config.json has them. */
import { describe, expect, it } from 'vitest'
import { commandHelp, parseCommandLine, UsageError } from '../../electron/cli/commands'
import { startInput } from '../../electron/cli/settings'

function mistake(argv: string[]): string {
  try {
    parseCommandLine(argv)
  } catch (error) {
    if (error instanceof UsageError) return error.message
    throw error
  }
  throw new Error(`${argv.join(' ')} was accepted`)
}

const sources = {
  readFile: (path: string) => files[path] ?? missing(path),
  resolvePath: (path: string) => `/home/u/${path}`,
  exists: (path: string) => path === 'models/local',
}
const files: Record<string, string> = {
  'job.json': JSON.stringify({ version: 1, jobId: 'old', method: 'dpo', training: { epochs: 2 }, resumeFrom: null }),
  'list.json': '[1, 2]',
  'broken.json': '{"training": ',
}
function missing(path: string): never {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
}

describe('parsing', () => {
  it('reads a command, its arguments and flags in both spellings', () => {
    expect(parseCommandLine(['logs', 'job-1', '--follow', '--data-dir=/d', '--json'])).toEqual({
      command: 'logs',
      arguments: ['job-1'],
      flags: { '--follow': true, '--data-dir': '/d', '--json': true },
      json: true,
      dataDir: '/d',
    })
    expect(parseCommandLine(['start', '--set', 'a=1', '--set=b=2', '--model', 'selftest'])).toMatchObject({
      flags: { '--set': ['a=1', 'b=2'], '--model': 'selftest' },
    })
  })

  it('answers --help for the whole command line and for each command', () => {
    expect(parseCommandLine([])).toMatchObject({ help: expect.stringContaining('Usage: tunedeck COMMAND') })
    expect(parseCommandLine(['pause', '--help'])).toEqual({ help: commandHelp('pause') })
    expect(parseCommandLine(['help', 'start'])).toEqual({ help: commandHelp('start') })
    expect(commandHelp('start')).toContain('--set KEY=VALUE')
  })

  it('names the mistake in one line', () => {
    expect(mistake(['train'])).toBe('Unknown command "train": run tunedeck --help for the list.')
    expect(mistake(['status'])).toBe('tunedeck status needs JOB: tunedeck status JOB.')
    expect(mistake(['checkpoint', 'job-1'])).toBe('tunedeck checkpoint needs NAME: tunedeck checkpoint JOB NAME.')
    expect(mistake(['pause', 'a', 'b'])).toBe('tunedeck pause takes JOB; "b" is one too many.')
    expect(mistake(['jobs', '--follow'])).toBe('tunedeck jobs has no option --follow: run tunedeck jobs --help.')
    expect(mistake(['start', '--model'])).toBe('--model needs a value: run tunedeck start --help.')
    expect(mistake(['logs', 'x', '--follow=yes'])).toBe('--follow takes no value.')
  })
})

describe('start settings', () => {
  it('keys --set values as config.json does, JSON where it parses', () => {
    const input = startInput(
      {
        '--model': 'selftest',
        '--set': ['training.learningRate=1e-4', 'lora.targetModules=["q_proj"]', 'dataset.format=alpaca', 'training.packing=false'],
      },
      sources,
    )
    expect(input).toEqual({
      model: { selftest: true },
      training: { learningRate: 1e-4, packing: false },
      lora: { targetModules: ['q_proj'] },
      dataset: { format: 'alpaca' },
    })
  })

  it('mixes the datasets of repeated --dataset flags, each PATH or PATH:WEIGHT', () => {
    const line = parseCommandLine([
      'start',
      '--model',
      'selftest',
      '--dataset',
      'chats.jsonl:0.5',
      '--dataset',
      'sums.jsonl',
      '--dataset',
      'notes.txt:2',
    ])
    if ('help' in line) throw new Error('expected a command, not help')
    expect(startInput(line.flags, sources)).toEqual({
      model: { selftest: true },
      dataset: {
        path: '/home/u/chats.jsonl',
        weight: 0.5,
        mix: [{ path: '/home/u/sums.jsonl' }, { path: '/home/u/notes.txt', weight: 2 }],
      },
    })
    // A colon that is not followed by a number belongs to the path.
    expect(startInput({ '--model': 'selftest', '--dataset': ['data:v2.jsonl'] }, sources)).toEqual({
      model: { selftest: true },
      dataset: { path: '/home/u/data:v2.jsonl' },
    })
    expect(() => startInput({ '--model': 'selftest', '--dataset': ['a.jsonl:0'] }, sources)).toThrow(
      '--dataset a.jsonl:0: the weight must be above 0, e.g. a.jsonl:0.5.',
    )
  })

  it('takes a --config file (a whole config.json too) under --set, with paths made absolute', () => {
    const input = startInput(
      {
        '--config': 'job.json',
        '--set': ['training.epochs=3'],
        '--model': 'models/local',
        '--dataset': 'data.jsonl',
        '--preset': 'fast',
        '--name': 'n',
      },
      sources,
    )
    expect(input).toEqual({
      method: 'dpo',
      training: { epochs: 3 },
      model: { path: '/home/u/models/local' },
      dataset: { path: '/home/u/data.jsonl' },
      preset: 'fast',
      name: 'n',
    })
    expect(startInput({ '--model': 'selftest', '--from': 'job-1/step-40', '--optimizer': true }, sources)).toEqual({
      model: { selftest: true },
      initFrom: { jobId: 'job-1', checkpoint: 'step-40', optimizer: true },
    })
    // org/name that is no folder here is a hub id, sent as it is.
    expect(startInput({ '--model': 'Qwen/Qwen2.5-0.5B' }, sources)).toEqual({ model: { path: 'Qwen/Qwen2.5-0.5B' } })
  })

  it('refuses what it cannot send, naming the flag', () => {
    const refused = (flags: Record<string, string | string[]>): string => {
      try {
        startInput(flags, sources)
      } catch (error) {
        return (error as Error).message
      }
      return 'accepted'
    }
    expect(refused({})).toBe('tunedeck start needs --model (a folder, a hub id in your cache, or selftest).')
    expect(refused({ '--model': 'selftest', '--set': ['epochs'] })).toBe('--set epochs: write KEY=VALUE, e.g. --set training.epochs=2.')
    expect(refused({ '--model': 'selftest', '--set': ['__proto__.x=1'] })).toContain('name a setting as config.json does')
    expect(refused({ '--model': 'selftest', '--set': ['method=sft', 'method.x=1'] })).toBe(
      '--set method.x: method is a value, not a section.',
    )
    expect(refused({ '--model': 'selftest', '--from': 'job-1' })).toBe('--from job-1: write JOB/CHECKPOINT, e.g. --from 0abc123/step-40.')
    expect(refused({ '--model': 'selftest', '--optimizer': true as never })).toContain(
      '--optimizer continues the optimizer of the checkpoint --from names',
    )
    expect(refused({ '--config': 'nope.json' })).toBe('--config nope.json: cannot read it (ENOENT).')
    expect(refused({ '--config': 'list.json' })).toContain('--config list.json: expected an object of settings')
    expect(refused({ '--config': 'broken.json' })).toContain('--config broken.json: not valid JSON')
  })
})
