/**
 * jobs/<id>/terminal.log: everything the trainer printed, plus notes from the host.
 *
 * The log is bounded: once it passes the limit (TUNEDECK_TERMINAL_LOG_MB, 64 MB by
 * default) it keeps its first quarter (how the run started) and the newest output,
 * with one host line between them that says how many bytes were left out there.
 * A trainer that floods its terminal costs a bounded file and bounded memory.
 */
import fs from 'node:fs'
import path from 'node:path'

/** How much of the log jobs.terminal returns: enough for a screenful of history, small enough to send. */
export const terminalTailBytes = 256 * 1024

/** The log's size limit when TUNEDECK_TERMINAL_LOG_MB is not set. */
export const defaultTerminalLogMegabytes = 64

const copyChunkBytes = 1024 * 1024
// The marker line the log keeps after its start; its count grows with each cut.
const markerPattern = /^\r\n\[tunedeck host\] ([\d,]+) bytes of output were left out here[^\n]*\n/

/** The limit in bytes from TUNEDECK_TERMINAL_LOG_MB; a value that is not a number of at least 1 is reported and the default used. */
export function terminalLogLimit(env: NodeJS.ProcessEnv = process.env): number {
  const setting = env.TUNEDECK_TERMINAL_LOG_MB
  if (setting === undefined || setting.trim() === '') return defaultTerminalLogMegabytes * 1024 * 1024
  const megabytes = Number(setting)
  if (!Number.isFinite(megabytes) || megabytes < 1) {
    process.stderr.write(
      `TUNEDECK_TERMINAL_LOG_MB="${setting}" is not a size in MB of at least 1: using ${defaultTerminalLogMegabytes} MB\n`,
    )
    return defaultTerminalLogMegabytes * 1024 * 1024
  }
  return Math.floor(megabytes * 1024 * 1024)
}

function marker(leftOut: number, limit: number): string {
  const megabytes = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`
  return (
    `\r\n[tunedeck host] ${leftOut.toLocaleString('en-US')} bytes of output were left out here: ` +
    `terminal.log keeps its first ${megabytes(limit / 4)} and its newest output within ${megabytes(limit)} (TUNEDECK_TERMINAL_LOG_MB)\r\n`
  )
}

/** The terminal log of one job directory. */
export class TerminalLog {
  readonly file: string
  /** Bytes in the file, known after the first append. */
  private size: number | null = null

  /** `limitBytes`: the most the file holds (it is cut back to about three quarters of it when passed). */
  constructor(
    jobDir: string,
    readonly limitBytes: number = terminalLogLimit(),
  ) {
    this.file = path.join(jobDir, 'terminal.log')
  }

  /** Appends a chunk as the pty gave it. Synchronous so that the log is complete the moment the process exits. */
  append(data: string): void {
    if (this.size === null) this.size = fileSize(this.file)
    fs.appendFileSync(this.file, data)
    this.size += Buffer.byteLength(data)
    if (this.size > this.limitBytes) this.cut()
  }

  /**
   * Keeps the first quarter and the newest output, from a line start, up to
   * three quarters of the limit, so the next cut is a quarter of the limit away.
   * The newest output is copied forward in chunks: memory stays at one chunk.
   */
  private cut(): void {
    const head = Math.floor(this.limitBytes / 4)
    const keep = Math.floor(this.limitBytes / 2) - 256
    const handle = fs.openSync(this.file, 'r+')
    try {
      const size = fs.fstatSync(handle).size
      const probe = Buffer.alloc(512)
      const probed = fs.readSync(handle, probe, 0, probe.length, head)
      const existing = markerPattern.exec(probe.subarray(0, probed).toString('latin1'))
      const previous = existing ? Number((existing[1] ?? '0').replace(/,/g, '')) : 0
      const restStart = head + (existing ? Buffer.byteLength(existing[0], 'latin1') : 0)
      let from = Math.max(restStart, size - keep)
      // Start the kept part at a whole line when one begins near the cut.
      const scan = Buffer.alloc(Math.min(64 * 1024, size - from))
      const newline = scan.subarray(0, fs.readSync(handle, scan, 0, scan.length, from)).indexOf(10)
      if (newline !== -1) from += newline + 1
      const note = Buffer.from(marker(previous + (from - restStart), this.limitBytes))
      fs.writeSync(handle, note, 0, note.length, head)
      let to = head + note.length
      const chunk = Buffer.alloc(copyChunkBytes)
      for (let at = from; at < size;) {
        const read = fs.readSync(handle, chunk, 0, Math.min(chunk.length, size - at), at)
        if (read === 0) break
        fs.writeSync(handle, chunk, 0, read, to)
        at += read
        to += read
      }
      fs.ftruncateSync(handle, to)
      this.size = to
    } finally {
      fs.closeSync(handle)
    }
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
    return (
      plain
        .split('\n')
        // A progress bar rewrites its line after '\r'; keep what the terminal would show last.
        .map((line) =>
          (
            line
              .split('\r')
              .filter((part) => part.trim() !== '')
              .pop() ?? ''
          ).trimEnd(),
        )
        .filter((line) => line !== '')
        .slice(-count)
    )
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size
  } catch {
    return 0
  }
}

/** Removes ANSI escape sequences (colors, cursor moves) so text reads plainly outside a terminal. */
export function stripControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-_]/g, '')
}
