/** Whole lines of a child process's output, for the host's Python children that answer in JSON lines. */
import type { Readable } from 'node:stream'

/** Calls `onLine` with each whole, trimmed line `stream` writes; a last line without a newline comes at the stream's end (before the child's 'close'). */
export function onLines(stream: Readable, onLine: (line: string) => void): void {
  let pending = ''
  stream.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk
    let newline = pending.indexOf('\n')
    while (newline >= 0) {
      onLine(pending.slice(0, newline).trim())
      pending = pending.slice(newline + 1)
      newline = pending.indexOf('\n')
    }
  })
  stream.on('end', () => {
    if (pending.trim()) onLine(pending.trim())
    pending = ''
  })
}
