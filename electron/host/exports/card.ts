/**
 * The two texts of an export that a person reads: README.md (the model card, with the
 * compatibility report and copy-paste commands for each loader) and Ollama's Modelfile.
 */
import path from 'node:path'
import type { JobConfig } from '@shared/config'
import type { Evaluation } from '@shared/evaluation'
import { exportTargetLabels, type Compatibility } from '@shared/exports'
import type { JobHistory } from './files'
import type { Prepared } from './prepared'

/** Everything the card says. */
export interface CardInput {
  jobName: string
  jobId: string
  checkpoint: string | null
  config: JobConfig
  history: JobHistory
  dataset: { name: string; sha256: string | null }
  appVersion: string
  date: Date
  prepared: Prepared
  merged: boolean
  /** The job's saved evaluation (base against tuned), when it has one. */
  evaluation?: Evaluation | null
}

// Ollama tags of common bases in full precision, so FROM can name one; anything else uses a GGUF of the base.
const ollamaTags: Record<string, string> = {
  'meta-llama/Llama-3.2-1B-Instruct': 'llama3.2:1b-instruct-fp16',
  'meta-llama/Llama-3.2-3B-Instruct': 'llama3.2:3b-instruct-fp16',
  'meta-llama/Llama-3.1-8B-Instruct': 'llama3.1:8b-instruct-fp16',
  'Qwen/Qwen2.5-0.5B-Instruct': 'qwen2.5:0.5b-instruct-fp16',
  'Qwen/Qwen2.5-1.5B-Instruct': 'qwen2.5:1.5b-instruct-fp16',
  'Qwen/Qwen2.5-7B-Instruct': 'qwen2.5:7b-instruct-fp16',
  'google/gemma-2-2b-it': 'gemma2:2b-instruct-fp16',
}

/** A name safe for an Ollama model or a vLLM LoRA module: lower case letters, digits and dashes. */
export function modelName(jobName: string): string {
  return (
    jobName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'tunedeck-model'
  )
}

/**
 * A base model as a shared card names it: a hub id as is, a folder of this machine by its
 * name only (the card goes to other people; this machine's paths mean nothing there).
 */
export function shareableBase(base: string): string {
  return path.isAbsolute(base) || path.win32.isAbsolute(base) ? path.basename(base.replace(/[\\/]+$/, '').replaceAll('\\', '/')) : base
}

function quoted(text: string): string {
  // Ollama's triple-quoted strings cannot contain three quotes in a row.
  return `"""${text.replaceAll('"""', '" " "')}"""`
}

/** Ollama's Modelfile: FROM the base, ADAPTER (or the merged folder), TEMPLATE, stops, SYSTEM. */
export function modelfile(input: Pick<CardInput, 'jobName' | 'appVersion' | 'prepared' | 'merged'>): string {
  const { prepared, merged } = input
  const base = shareableBase(prepared.baseModel)
  const tag = Object.hasOwn(ollamaTags, base) ? ollamaTags[base] : undefined
  const lines = [`# Ollama Modelfile for "${input.jobName}", exported by Tunedeck ${input.appVersion}.`]
  if (prepared.modelGguf) {
    lines.push(
      `# The merged model as one GGUF (${prepared.modelGguf.type}): runs alone with ollama create, no base model needed.`,
      'FROM ./model.gguf',
    )
  } else if (merged) {
    lines.push('# The merged model folder: Ollama imports safetensors of Llama, Mistral, Gemma, Phi and Qwen bases.', 'FROM ./merged')
  } else {
    lines.push(
      `# FROM must be the base this adapter was trained on: ${base}.`,
      tag
        ? `# Either its Ollama tag in full precision (ollama pull ${tag}) or a GGUF of it, made with llama.cpp:`
        : '# A GGUF of it in f16 or f32, made with llama.cpp:',
      `#   python convert_hf_to_gguf.py ${base} --outfile base.gguf --outtype f16`,
      `FROM ${tag ?? './base.gguf'}`,
    )
    if (prepared.gguf) lines.push('ADAPTER ./adapter.gguf')
    else {
      const why = prepared.compatibility.targets.find((target) => target.target === 'ollama')?.reason ?? 'not supported'
      lines.push(`# No adapter.gguf in this export (${why}): Ollama cannot apply this adapter; export the merged model instead.`)
    }
  }
  if (prepared.template.ollamaTemplate) lines.push(`TEMPLATE ${quoted(prepared.template.ollamaTemplate)}`)
  else lines.push("# The trained chat template is not one the export can restate for Ollama: the base model's template applies.")
  for (const stop of prepared.template.stops) lines.push(`PARAMETER stop ${JSON.stringify(stop)}`)
  if (prepared.template.system) lines.push(`SYSTEM ${quoted(prepared.template.system)}`)
  return lines.join('\n') + '\n'
}

function compatibilityTable(compatibility: Compatibility): string {
  const rows = compatibility.targets.map((target) => {
    const note = [target.reason, target.fix ? `To load it: ${target.fix}.` : null].filter(Boolean).join(' ')
    return `| ${exportTargetLabels[target.target]} | ${target.loads ? 'yes' : 'no'} | ${note.replaceAll('|', '\\|') || ''} |`
  })
  return ['| Loader | Loads it | Notes |', '| --- | --- | --- |', ...rows].join('\n')
}

function loss(value: number | null): string {
  return value === null ? 'none' : value.toFixed(4)
}

function commands(input: CardInput): string {
  const { prepared, merged } = input
  const base = shareableBase(prepared.baseModel)
  const name = modelName(input.jobName)
  if (merged) {
    return [
      '### transformers',
      '```python',
      'from transformers import AutoModelForCausalLM, AutoTokenizer',
      'model = AutoModelForCausalLM.from_pretrained("merged")',
      'tokenizer = AutoTokenizer.from_pretrained("merged")',
      '```',
      '### vLLM',
      '```sh\nvllm serve ./merged\n```',
      '### llama.cpp',
      '```sh\npython convert_hf_to_gguf.py merged --outfile model.gguf --outtype f16\nllama-cli -m model.gguf -cnv\n```',
      '### Ollama',
      `\`\`\`sh\nollama create ${name} -f Modelfile\nollama run ${name}\n\`\`\``,
    ].join('\n')
  }
  return [
    '### PEFT',
    '```python',
    'from transformers import AutoModelForCausalLM, AutoTokenizer',
    'from peft import PeftModel',
    `base = AutoModelForCausalLM.from_pretrained(${JSON.stringify(base)})`,
    'model = PeftModel.from_pretrained(base, "adapter")',
    'tokenizer = AutoTokenizer.from_pretrained("adapter")',
    '```',
    '### vLLM',
    '```sh',
    `vllm serve ${base} --enable-lora --lora-modules ${name}=./adapter --max-lora-rank ${prepared.compatibility.vllmMaxLoraRank}`,
    '```',
    ...(prepared.modelGguf
      ? [
          `### llama.cpp, LM Studio (model.gguf: the merged model, ${prepared.modelGguf.type}, runs alone)`,
          '```sh\nllama-cli -m model.gguf -cnv\n```',
          '### Ollama',
          `\`\`\`sh\nollama create ${name} -f Modelfile\nollama run ${name}\n\`\`\``,
        ]
      : [
          '### llama.cpp',
          '```sh',
          `python convert_hf_to_gguf.py ${base} --outfile base.gguf --outtype f16`,
          'llama-cli -m base.gguf --lora adapter.gguf -cnv',
          '```',
          '### Ollama',
          '```sh',
          "# Put the base named on the Modelfile's FROM line first (see the comment there).",
          `ollama create ${name} -f Modelfile`,
          `ollama run ${name}`,
          '```',
        ]),
  ].join('\n')
}

/** README.md: what was trained, on what, how well, and how to load it. */
export function modelCard(input: CardInput): string {
  const { config, history, prepared } = input
  const lora = config.lora
  const training = config.training
  const source = input.checkpoint ? `checkpoint "${input.checkpoint}" of job ${input.jobId}` : `job ${input.jobId}`
  const settings = [
    `- Method: ${config.method.toUpperCase()} with ${lora.dora ? 'DoRA' : 'LoRA'}${lora.rslora ? ' (rsLoRA scaling)' : ''}` +
      `${config.model.quantization === '4bit' ? ' on a 4-bit base (QLoRA)' : ''}`,
    `- LoRA: rank ${prepared.rank}, alpha ${prepared.alpha}, dropout ${lora.dropout}, target modules ` +
      `${Array.isArray(lora.targetModules) ? lora.targetModules.join(', ') : lora.targetModules}`,
    `- Training: learning rate ${training.learningRate}, ${training.epochs} epoch(s), batch ${training.batchSize} x ` +
      `${training.gradientAccumulation} accumulation, sequences up to ${training.maxSeqLength} tokens, seed ${training.seed}`,
  ]
  return [
    `# ${input.jobName}`,
    '',
    `${input.merged ? 'The merged model' : 'A LoRA adapter'} from ${source}, exported by Tunedeck ${input.appVersion} on ${input.date.toISOString().slice(0, 10)}.`,
    '',
    '## Training',
    '',
    `- Base model: ${shareableBase(prepared.baseModel)}${prepared.compatibility.modelType ? ` (${prepared.compatibility.modelType})` : ''}`,
    `- Dataset: ${input.dataset.name}, SHA-256 ${input.dataset.sha256 ?? '(a folder; not hashed)'}`,
    ...settings,
    `- Steps: ${history.steps}`,
    `- Final training loss: ${loss(history.finalLoss)}; held-out loss: ${loss(history.heldOutLoss)}`,
    `- Chat template: ${prepared.template.family ?? "the tokenizer's own"}; stop tokens ${prepared.template.stops.map((stop) => `\`${stop}\``).join(', ') || 'none'}`,
    '',
    ...evaluationSection(input.evaluation ?? null),
    '## Compatibility',
    '',
    compatibilityTable(prepared.compatibility),
    '',
    '## Load it',
    '',
    commands(input),
    '',
    '## Files',
    '',
    "manifest.json lists every file with its size and SHA-256; config.json is the job's configuration, metrics.csv its",
    'loss at every step, terminal.log what it printed.',
    '',
  ].join('\n')
}

/** The card's Evaluation section: base against tuned on the same rows (empty when the job has none). */
export function evaluationSection(evaluation: Evaluation | null): string[] {
  if (!evaluation) return []
  const row = (label: string, side: Evaluation['base']) =>
    `| ${label} | ${side.loss.toFixed(4)} | ${side.perplexity.toFixed(2)} | ${(side.exactMatch * 100).toFixed(1)}% | ${side.rougeL.toFixed(3)} | ${(side.bleu * 100).toFixed(1)} |`
  const rows =
    evaluation.source === 'held-out'
      ? 'held-out rows'
      : evaluation.source === 'dataset'
        ? `rows of ${evaluation.datasetPath ? path.basename(evaluation.datasetPath) : 'a chosen dataset'}`
        : 'training rows (the job held none out)'
  return [
    '## Evaluation',
    '',
    `Base against tuned on ${evaluation.rows} ${rows}, greedy answers of up to ${evaluation.maxNewTokens} tokens (${evaluation.date.slice(0, 10)}).`,
    '',
    '| Model | Loss | Perplexity | Exact match | ROUGE-L | BLEU |',
    '| --- | --- | --- | --- | --- | --- |',
    row('Base', evaluation.base),
    row('Tuned', evaluation.tuned),
    '',
  ]
}
