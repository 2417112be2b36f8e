/**
 * The `tunedeck` command line's grammar: each command with its arguments, flags and help,
 * and the parser that turns argv into one of them or a UsageError naming the argument.
 */

/** A mistake on the command line: printed in one line, exit code 2. */
export class UsageError extends Error {}

type FlagKind = 'value' | 'switch' | 'list'

interface CommandSpec {
  /** The positional arguments, in order, as the help names them. */
  arguments: readonly string[]
  flags: Readonly<Record<string, FlagKind>>
  summary: string
  /** Lines under the usage line: what each argument and flag means. */
  details: readonly string[]
}

const jobArgument = 'JOB'

export const commands = {
  start: {
    arguments: [],
    flags: {
      '--model': 'value',
      '--dataset': 'list',
      '--preset': 'value',
      '--config': 'value',
      '--set': 'list',
      '--name': 'value',
      '--from': 'value',
      '--optimizer': 'switch',
      '--follow': 'switch',
    },
    summary: 'start a job and print its id (or, with --follow, its terminal until it ends)',
    details: [
      '--model PATH|HUB_ID|selftest   the base model: a local folder, a hub id in your cache, or the self-test model',
      '--dataset PATH[:WEIGHT]        the training file (not needed for the self-test); repeat it to mix several, each read',
      '                               in its own format, with a weight: the share of its rows taken (1 all, 0.5 half, 2 twice)',
      "--preset ID                    settings of a preset (see the app's presets)",
      '--config FILE                  a JSON file of settings keyed as config.json, e.g. {"training": {"epochs": 2}}',
      '--set KEY=VALUE                one setting, repeatable: --set training.learningRate=1e-4 --set method=dpo',
      "--name TEXT                    the job's name",
      "--from JOB/CHECKPOINT          start from the weights of another job's checkpoint (its base model and LoRA shape)",
      "--optimizer                    with --from: continue that checkpoint's optimizer state too, not a fresh one",
      "--follow                       print the trainer's terminal until the job ends; exit as `logs --follow` does",
    ],
  },
  jobs: { arguments: [], flags: {}, summary: 'list the jobs, newest first', details: [] },
  status: { arguments: [jobArgument], flags: {}, summary: 'one job: status, step, loss, adapter', details: [] },
  logs: {
    arguments: [jobArgument],
    flags: { '--follow': 'switch' },
    summary: "the trainer's terminal output",
    details: ['--follow   keep printing until the job ends; exit 0 completed, 1 failed, 3 paused, 4 cancelled'],
  },
  metrics: {
    arguments: [jobArgument],
    flags: { '--follow': 'switch' },
    summary: 'every logged step as JSON lines',
    details: ['--follow   keep printing new steps until the job ends (exit codes as logs --follow)'],
  },
  pause: { arguments: [jobArgument], flags: {}, summary: 'pause after the current step, with a checkpoint', details: [] },
  resume: { arguments: [jobArgument], flags: {}, summary: 'resume a paused, interrupted or failed job from its checkpoint', details: [] },
  cancel: { arguments: [jobArgument], flags: {}, summary: 'cancel a queued or running job', details: [] },
  checkpoint: {
    arguments: [jobArgument, 'NAME'],
    flags: {},
    summary: 'save a named checkpoint of a running job after its current step',
    details: [],
  },
  export: {
    arguments: [jobArgument],
    flags: { '--out': 'value', '--checkpoint': 'value', '--merged': 'switch', '--gguf': 'value' },
    summary: 'export a finished job as a zip that PEFT, vLLM, llama.cpp and Ollama load, checked before it is reported',
    details: [
      '--out FILE.zip       where the zip goes (default: <data folder>/exports/<job name>.zip)',
      "--checkpoint NAME    export one of the job's checkpoints instead of its final adapter",
      '--merged             the adapter merged into the base weights (16-bit), loadable without peft',
      "--gguf TYPE          also the merged model as one model.gguf that llama.cpp and Ollama run alone: f16, q8_0, q4_0 (q4_K_M with llama.cpp's llama-quantize on PATH)",
    ],
  },
  eval: {
    arguments: [jobArgument],
    flags: { '--limit': 'value', '--max-new-tokens': 'value', '--dataset': 'value', '--saved': 'switch' },
    summary:
      "the base against the tuned model on the job's held-out rows (or a chosen dataset): loss, perplexity, exact match, ROUGE-L, BLEU",
    details: [
      '--dataset ID|FILE     a library dataset (its id) or a dataset file instead of the held-out rows',
      '--limit N             at most N rows (default 50)',
      '--max-new-tokens N    the longest generated answer (default 128)',
      '--saved               print the evaluation saved with the job instead of running one',
    ],
  },
  push: {
    arguments: [jobArgument],
    flags: { '--repo': 'value', '--checkpoint': 'value', '--merged': 'switch', '--public': 'switch' },
    summary: "upload a finished job's adapter (or merged model) with its model card to your Hugging Face repository",
    details: [
      '--repo OWNER/NAME    the repository; created if it does not exist (the token comes from the Models page)',
      "--checkpoint NAME    push one of the job's checkpoints instead of its final adapter",
      '--merged             push the adapter merged into the base weights (16-bit) instead',
      '--public             make a new repository public (default: private)',
    ],
  },
  chat: {
    arguments: ['JOB|ADAPTER'],
    flags: {
      '--checkpoint': 'value',
      '--system': 'value',
      '--temperature': 'value',
      '--top-p': 'value',
      '--max-new-tokens': 'value',
      '--seed': 'value',
    },
    summary: "chat with a finished job's adapter or a library adapter: each line on stdin is a turn, the answer streams back; Ctrl-D ends",
    details: [
      'JOB|ADAPTER              a job id, or the id of an imported or combined adapter (see tunedeck adapters)',
      "--checkpoint NAME        chat with one of the job's checkpoints instead of its final adapter",
      '--system TEXT            the system prompt',
      '--temperature X          0 to 2 (0: greedy; default 0.7)',
      '--top-p X                above 0, at most 1 (default 0.95)',
      '--max-new-tokens N       the longest answer (default 256)',
      '--seed N                 the sampling seed (default 0)',
      'Ctrl-C stops the answer being written; --json prints each answer as one JSON line instead of streaming it.',
    ],
  },
  adapters: {
    arguments: [],
    flags: {},
    summary: 'list the adapter library (imported and combined adapters): id, name, base model, rank',
    details: [],
  },
  datasets: { arguments: [], flags: {}, summary: 'list the dataset library: id, name, format, rows, size, jobs', details: [] },
  import: {
    arguments: ['FILE'],
    flags: { '--name': 'value' },
    summary: 'copy a dataset file (or save_to_disk folder) into the library, checked by the trainer',
    details: ['--name TEXT   the name shown in the library (default: the file name)'],
  },
  bundle: {
    arguments: [jobArgument],
    flags: { '--out': 'value' },
    summary: 'write the job as a folder a cluster trains: config, data, trainer, torchrun, Slurm and SkyPilot files',
    details: ['--out DIR   the new folder (required); run torchrun.sh on each node, sbatch slurm.sbatch, or sky launch skypilot.yaml'],
  },
  'import-run': {
    arguments: ['DIR'],
    flags: {},
    summary: "bring back what a bundle's run wrote (events, checkpoints, adapter) as a new job",
    details: [],
  },
} as const satisfies Record<string, CommandSpec>

export type CommandName = keyof typeof commands

/** Flags every command takes. */
const globalFlags: Record<string, FlagKind> = {
  '--data-dir': 'value',
  '--json': 'switch',
  '--help': 'switch',
  '--url': 'value',
  '--token': 'value',
}

/** A parsed command line. */
export interface CommandLine {
  command: CommandName
  arguments: string[]
  /** Values of value flags; `true` for switches; arrays for repeatable flags. */
  flags: Record<string, string | true | string[]>
  json: boolean
  dataDir: string | undefined
  /** A serve elsewhere (--url), and its token when the address does not carry it (--token). */
  url: string | undefined
  token: string | undefined
}

export const overview = `Usage: tunedeck COMMAND [arguments] [--json] [--data-dir DIR]

Drives a running Tunedeck (the desktop app or \`npm run serve\`) through the same routes as its window.

Commands:
${Object.entries(commands)
  .map(([name, spec]) => `  ${`${name} ${spec.arguments.join(' ')}`.padEnd(22)} ${spec.summary}`)
  .join('\n')}

Every command: --json prints JSON for scripts, --data-dir DIR (or TUNEDECK_DATA_DIR) names the data folder
of the Tunedeck to talk to, --url URL (or TUNEDECK_URL) a serve on another machine, by the address it printed
(#token=... in it, or --token / TUNEDECK_TOKEN), --help explains the command. Exit codes: 0 done, 1 failed, 2 a usage mistake.`

/** The help of one command. */
export function commandHelp(name: CommandName): string {
  const spec: CommandSpec = commands[name]
  const flags = Object.keys(spec.flags).length > 0 ? ' [flags]' : ''
  const lines = [
    `Usage: tunedeck ${name}${spec.arguments.map((argument) => ` ${argument}`).join('')}${flags} [--json] [--data-dir DIR]`,
    '',
    `${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}.`,
  ]
  if (spec.details.length > 0) lines.push('', ...spec.details.map((line) => `  ${line}`))
  return lines.join('\n')
}

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(commands, name)
}

/**
 * Parses argv (without node and the script). Returns the help text to print for --help or no
 * command, else the command line; throws UsageError for anything it cannot take.
 */
export function parseCommandLine(given: readonly string[]): CommandLine | { help: string } {
  // `tunedeck --url URL jobs`: the remote's flags may come before the command too.
  const leading: string[] = []
  const rest = [...given]
  while (/^--(url|token)(=|$)/.test(rest[0] ?? '')) leading.push(...rest.splice(0, rest[0]!.includes('=') ? 1 : 2))
  const argv = [...rest.slice(0, 1), ...leading, ...rest.slice(1)]
  const first = argv[0]
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? argv[1] : undefined
    return { help: topic !== undefined && isCommand(topic) ? commandHelp(topic) : overview }
  }
  if (!isCommand(first)) throw new UsageError(`Unknown command "${first}": run tunedeck --help for the list.`)
  const spec: CommandSpec = commands[first]
  const known: Record<string, FlagKind> = { ...globalFlags, ...spec.flags }
  const positionals: string[] = []
  const flags: CommandLine['flags'] = {}
  for (let index = 1; index < argv.length; index += 1) {
    const arg = argv[index]!
    if (arg === '-h') return { help: commandHelp(first) }
    if (!arg.startsWith('--')) {
      positionals.push(arg)
      continue
    }
    const equals = arg.indexOf('=')
    const flag = equals > 0 ? arg.slice(0, equals) : arg
    const kind = known[flag]
    if (kind === undefined) throw new UsageError(`tunedeck ${first} has no option ${flag}: run tunedeck ${first} --help.`)
    if (kind === 'switch') {
      if (equals > 0) throw new UsageError(`${flag} takes no value.`)
      flags[flag] = true
      continue
    }
    const value = equals > 0 ? arg.slice(equals + 1) : argv[(index += 1)]
    if (value === undefined || value === '') throw new UsageError(`${flag} needs a value: run tunedeck ${first} --help.`)
    if (kind === 'list') flags[flag] = [...((flags[flag] as string[] | undefined) ?? []), value]
    else flags[flag] = value
  }
  if (flags['--help'] === true) return { help: commandHelp(first) }
  if (positionals.length !== spec.arguments.length) {
    const wanted = spec.arguments.length === 0 ? 'no arguments' : spec.arguments.join(' ')
    const missing = spec.arguments[positionals.length]
    throw new UsageError(
      positionals.length < spec.arguments.length
        ? `tunedeck ${first} needs ${missing}: tunedeck ${first} ${spec.arguments.join(' ')}.`
        : `tunedeck ${first} takes ${wanted}; "${positionals[spec.arguments.length]}" is one too many.`,
    )
  }
  return {
    command: first,
    arguments: positionals,
    flags,
    json: flags['--json'] === true,
    dataDir: typeof flags['--data-dir'] === 'string' ? flags['--data-dir'] : undefined,
    url: typeof flags['--url'] === 'string' ? flags['--url'] : undefined,
    token: typeof flags['--token'] === 'string' ? flags['--token'] : undefined,
  }
}
