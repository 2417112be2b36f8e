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

/** The most characters handed to xterm in one write; a flood beyond it shows its newest output. */
export const maxWriteChars = 64 * 1024

/**
 * What to write to xterm for `added` new characters at the end of `text`:
 * all of them, or when they pass `limit` (xterm is slower than a flooding
 * trainer) a dim line saying how many were skipped on screen and the newest
 * `limit` characters, from a line start. terminal.log keeps them either way.
 */
export function terminalWrite(text: string, added: number, limit = maxWriteChars): string {
  const fresh = Math.min(added, text.length)
  if (fresh <= limit) return text.slice(text.length - fresh)
  let newest = text.slice(text.length - limit)
  const newline = newest.indexOf('\n')
  if (newline !== -1 && newline < limit / 2) newest = newest.slice(newline + 1)
  const skipped = added - newest.length
  return `\r\n\u001b[2m[${skipped.toLocaleString('en-US')} characters of output skipped on screen; terminal.log keeps the output]\u001b[0m\r\n${newest}`
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
