/** README.md of a library adapter: where it came from, its shape, and how to load it. */
import path from 'node:path'
import { shareableBase } from '../exports/card'
import type { AdapterShape } from './checks'
import type { AdapterRecord } from './library'

function targets(shape: Pick<AdapterShape, 'targetModules'>): string {
  return Array.isArray(shape.targetModules) ? shape.targetModules.join(', ') : shape.targetModules
}

function loadIt(record: AdapterRecord): string[] {
  return [
    '## Load it',
    '',
    '```python',
    'from transformers import AutoModelForCausalLM',
    'from peft import PeftModel',
    `base = AutoModelForCausalLM.from_pretrained(${JSON.stringify(shareableBase(record.baseModel))})`,
    'model = PeftModel.from_pretrained(base, "adapter")',
    '```',
    '',
  ]
}

/** The card of a combined adapter: its sources, their weights, the mode and what the mode means for the rank. */
export function combinedCard(record: AdapterRecord, appVersion: string): string {
  const combined = record.combined
  if (!combined) throw new Error('combinedCard needs a combined adapter')
  const rows = combined.sources.map(
    (source) => `| ${source.label.replaceAll('|', '\\|')} | ${source.examples} | ${source.weight.toFixed(4)} |`,
  )
  const mode =
    combined.mode === 'exact'
      ? `Exact: the sources are stacked along the rank dimension with their weights folded into lora_B, so this adapter's B·A is ` +
        `exactly the weighted average of theirs. Its rank, ${record.rank}, is the sum of theirs (alpha ${record.alpha} keeps their scaling).`
      : `Average (FedAvg): every lora_A and lora_B tensor is the weighted average of the sources'. The rank stays ${record.rank}; ` +
        'the result is an approximation, since the average of the products B·A is not the product of the averages.'
  return [
    `# ${record.name}`,
    '',
    `A LoRA adapter combined from ${combined.sources.length} adapters by Tunedeck ${appVersion} on ${record.created.slice(0, 10)}.`,
    '',
    `- Base model: ${shareableBase(record.baseModel)}`,
    `- LoRA: rank ${record.rank}, alpha ${record.alpha}, target modules ${targets(record)}${record.dora ? ', DoRA' : ''}${record.rslora ? ', rsLoRA scaling' : ''}`,
    `- Mode: ${mode}`,
    '',
    '## Sources',
    '',
    'Each weighs as its number of training examples.',
    '',
    '| Adapter | Training examples | Weight |',
    '| --- | --- | --- |',
    ...rows,
    '',
    ...loadIt(record),
  ].join('\n')
}

/** The card of an imported adapter: the zip it came from and what it needs. */
export function importedCard(record: AdapterRecord, zipFile: string, appVersion: string): string {
  return [
    `# ${record.name}`,
    '',
    `A LoRA adapter imported from ${path.basename(zipFile)} by Tunedeck ${appVersion} on ${record.created.slice(0, 10)}.`,
    '',
    `- Base model: ${shareableBase(record.baseModel)}`,
    `- LoRA: rank ${record.rank}, alpha ${record.alpha}, target modules ${targets(record)}${record.dora ? ', DoRA' : ''}${record.rslora ? ', rsLoRA scaling' : ''}`,
    `- Training examples: ${record.examplesKnown ? record.examples : 'not recorded in the zip; 1 stands in when it is combined'}`,
    '',
    ...loadIt(record),
  ].join('\n')
}
