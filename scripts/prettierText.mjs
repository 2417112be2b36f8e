/**
 * A generated file's text as Prettier lays it out, with the repository's .prettierrc.json, so what
 * `npm run config-schema` writes already passes npm test's format stage (and `npm run format`
 * changes nothing in it). Files Prettier does not format (contract.py: the generator writes it in
 * ruff format's layout; Markdown) come back as they are.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as prettier from 'prettier'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

export async function prettierText(relative, text) {
  const filepath = path.join(root, relative)
  const { ignored, inferredParser } = await prettier.getFileInfo(filepath, {
    ignorePath: ['.gitignore', '.prettierignore'].map((name) => path.join(root, name)),
  })
  if (ignored || !inferredParser) return text
  const options = await prettier.resolveConfig(filepath)
  return await prettier.format(text, { ...options, filepath })
}
