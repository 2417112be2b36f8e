/**
 * The last output of a trainer that has just exited, kept. node-pty (1.1, Unix) gives the pty 200 ms
 * after the child exits to report the end of its output, then destroys its socket, dropping whatever
 * the host had not read yet. On a loaded machine one turn of the host's event loop can outlast that,
 * and a flood's last lines never reached terminal.log or the clients (microsoft/node-pty#72).
 * Before that destroy, what the socket has buffered and what the pty still holds are read and passed
 * on: the master side is non-blocking, so the read ends at once with EAGAIN (nothing more) or EIO (closed).
 */
import fs from 'node:fs'
import { StringDecoder } from 'node:string_decoder'
import type * as pty from 'node-pty'

interface UnixTerminalInternals {
  _socket?: { destroy: (error?: Error) => unknown; destroyed?: boolean; read: () => string | Buffer | null }
  _fd?: number
}

/** Makes ``terminal``'s socket read what is left into ``onData`` before it is destroyed (Unix only). */
export function drainBeforeDestroy(terminal: pty.IPty, onData: (data: string) => void): void {
  const { _socket: socket, _fd: fd } = terminal as unknown as UnixTerminalInternals
  if (process.platform === 'win32' || socket === undefined || typeof fd !== 'number') return
  const destroy = socket.destroy.bind(socket)
  socket.destroy = (error?: Error) => {
    if (!socket.destroyed) {
      // First what the stream has read but not passed on (while paused): read() emits it as data, to
      // node-pty's listener. Then what the pty still holds.
      while (socket.read() !== null);
      readRest(fd, onData)
    }
    return destroy(error)
  }
}

function readRest(fd: number, onData: (data: string) => void): void {
  const decoder = new StringDecoder('utf8')
  const buffer = Buffer.alloc(64 * 1024)
  for (;;) {
    let count: number
    try {
      count = fs.readSync(fd, buffer, 0, buffer.length, null)
    } catch {
      break // EAGAIN: nothing more to read; EIO: the pty is closed
    }
    if (count === 0) break
    const text = decoder.write(buffer.subarray(0, count))
    if (text) onData(text)
  }
  const rest = decoder.end()
  if (rest) onData(rest)
}
