/**
 * A library adapter as a zip: adapter/ (weights, config, tokenizer), README.md (its card),
 * adapter.json (so an import on another machine keeps its examples count) and manifest.json.
 * When its base model is on this machine the export's own Python step also runs, as for a
 * job's export: the GGUF adapter for llama.cpp and Ollama, the tokenizer with its chat
 * template, a Modelfile, and the compatibility report in the card. The zip is written to
 * a .partial file, verified against its manifest, then renamed.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { LibraryAdapter } from '@shared/adapters'
import { exportTargetLabels, type Compatibility } from '@shared/exports'
import { modelfile } from '../exports/card'
import { digestBuffer, digestFile, listFiles } from '../exports/files'
import { preparedSchema, type Prepared } from '../exports/prepared'
import { runExportPython, type ExportPythonOptions } from '../exports/python'
import { manifestOf, openPartial, verifyZip, writeZip, type ZipEntry } from '../exports/zip'

/** Where the zip was written and what it holds. */
export interface AdapterExport {
  path: string
  bytes: number
  /** False when the base model is not here: the zip has the adapter but no GGUF and no Modelfile. */
  prepared: boolean
}

function compatibilityText(compatibility: Compatibility): string {
  const rows = compatibility.targets.map((target) => {
    const note = [target.reason, target.fix ? `To load it: ${target.fix}.` : null].filter(Boolean).join(' ').replaceAll('|', '\\|')
    return `| ${exportTargetLabels[target.target]} | ${target.loads ? 'yes' : 'no'} | ${note} |`
  })
  return ['## Compatibility', '', '| Loader | Loads it | Notes |', '| --- | --- | --- |', ...rows, ''].join('\n')
}

/** Writes ``adapter`` (in ``folder``) to ``destination``; ``staging`` is a scratch folder the caller removes. */
export async function exportAdapter(
  options: ExportPythonOptions & { appVersion: string },
  adapter: LibraryAdapter,
  folder: string,
  destination: string,
  staging: string,
): Promise<AdapterExport> {
  const entries: ZipEntry[] = []
  const addFile = async (name: string, file: string) => entries.push({ name, source: file, ...(await digestFile(file)) })
  const addText = (name: string, text: string) => {
    const data = Buffer.from(text, 'utf8')
    entries.push({ name, data, bytes: data.length, sha256: digestBuffer(data) })
  }
  let card = fs.readFileSync(path.join(folder, 'README.md'), 'utf8')
  let prepared: Prepared | null = null
  if (adapter.baseAvailable) {
    const args = [
      'prepare',
      '--adapter',
      folder,
      '--base',
      adapter.baseModel,
      '--job-dir',
      folder,
      '--out',
      staging,
      '--base-name',
      adapter.baseModel,
    ]
    prepared = preparedSchema.parse(await runExportPython(options, args))
  }
  if (prepared) {
    for (const relative of listFiles(path.join(staging, 'adapter')))
      await addFile(`adapter/${relative}`, path.join(staging, 'adapter', relative))
    if (fs.existsSync(path.join(staging, 'adapter.gguf'))) await addFile('adapter.gguf', path.join(staging, 'adapter.gguf'))
    addText('Modelfile', modelfile({ jobName: adapter.name, appVersion: options.appVersion, prepared, merged: false }))
    card += `\n${compatibilityText(prepared.compatibility)}`
  } else {
    for (const file of listFiles(folder)) {
      if (!['README.md', 'adapter.json', 'state.json'].includes(file)) await addFile(`adapter/${file}`, path.join(folder, file))
    }
    card += `\nThe base model ${adapter.baseModel} was not on the machine that exported this zip: it holds no GGUF adapter and no Modelfile.\n`
  }
  addText('README.md', card)
  await addFile('adapter.json', path.join(folder, 'adapter.json'))
  addText('manifest.json', JSON.stringify(manifestOf(entries), null, 2) + '\n')
  const partial = `${destination}.partial`
  fs.mkdirSync(path.dirname(destination), { recursive: true })
  try {
    const bytes = await writeZip(entries, openPartial(partial))
    await verifyZip(partial)
    fs.renameSync(partial, destination)
    return { path: destination, bytes, prepared: prepared !== null }
  } finally {
    fs.rmSync(partial, { force: true })
  }
}
