/** Pure helpers for a job's terminal text. */

/** The most text kept per job; older output is dropped from the front. */
export const maxTerminalChars = 400_000

/** Appends a chunk, keeping only the newest `limit` characters. */
export function appendTerminal(text: string, chunk: string, limit = maxTerminalChars): string {
  const joined = text + chunk
  return joined.length > limit ? joined.slice(joined.length - limit) : joined
}

/**
 * Combines the text loaded from jobs.terminal with chunks that arrived as
 * events while that request was in flight. The loaded text may already hold
 * some of those chunks (the host read the file after they were written), so
 * only the chunks it does not end with are appended.
 */
export function mergeLoadedTerminal(loaded: string, chunksDuringLoad: readonly string[], limit = maxTerminalChars): string {
  for (let included = chunksDuringLoad.length; included > 0; included--) {
    if (loaded.endsWith(chunksDuringLoad.slice(0, included).join(''))) {
      return appendTerminal(loaded, chunksDuringLoad.slice(included).join(''), limit)
    }
  }
  return appendTerminal(loaded, chunksDuringLoad.join(''), limit)
}

/** The last `count` non-empty lines, without terminal colour codes: for a failed job's summary. */
export function lastLines(text: string, count: number): string[] {
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r(?!\n)/g, '\n')
  return plain
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .slice(-count)
}
