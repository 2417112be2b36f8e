/** jobs/<id>/terminal.log: everything the trainer printed, plus notes from the host. */
import fs from 'node:fs'
import path from 'node:path'

/** How much of the log jobs.terminal returns: enough for a screenful of history, small enough to send. */
export const terminalTailBytes = 256 * 1024

/** The terminal log of one job directory. */
export class TerminalLog {
  readonly file: string

  constructor(jobDir: string) {
    this.file = path.join(jobDir, 'terminal.log')
  }

  /** Appends a chunk as the pty gave it. Synchronous so that the log is complete the moment the process exits. */
  append(data: string): void {
    fs.appendFileSync(this.file, data)
  }

  /** The last `bytes` of the log, starting at a whole line when cut. Empty when there is no log yet. */
  tail(bytes: number = terminalTailBytes): string {
    let handle: number
    try {
      handle = fs.openSync(this.file, 'r')
    } catch {
      return ''
    }
    try {
      const size = fs.fstatSync(handle).size
      const start = Math.max(0, size - bytes)
      const buffer = Buffer.alloc(size - start)
      fs.readSync(handle, buffer, 0, buffer.length, start)
      const text = buffer.toString('utf8')
      if (start === 0) return text
      // We cut into the middle of a line (perhaps of a character); start at the next whole line.
      const newline = text.indexOf('\n')
      return newline === -1 ? text : text.slice(newline + 1)
    } finally {
      fs.closeSync(handle)
    }
  }

  /** The last `count` non-empty lines, with terminal control sequences removed, for error reports. */
  lastLines(count: number): string[] {
    const plain = stripControl(this.tail(64 * 1024))
    return plain
      .split('\n')
      // A progress bar rewrites its line after '\r'; keep what the terminal would show last.
      .map((line) => (line.split('\r').filter((part) => part.trim() !== '').pop() ?? '').trimEnd())
      .filter((line) => line !== '')
      .slice(-count)
  }
}

/** Removes ANSI escape sequences (colors, cursor moves) so text reads plainly outside a terminal. */
export function stripControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-_]/g, '')
}
