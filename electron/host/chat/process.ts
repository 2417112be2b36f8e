/**
 * One `python -m tunedeck_trainer.chat serve` child: JSON lines on its stdin and stdout
 * (protocol in python-runtime/tunedeck_trainer/chat/serve.py). Lines are read as they come
 * and handed to a listener, so a chatty model never blocks the host; a child silent for
 * longer than the heartbeat timeout is killed and reported dead like one that exited.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { childEnvironment } from '../childEnv'

/** A message from the chat process; only `type` is sure, the rest depends on it. */
export interface ChatMessage {
  type: string
  id?: string | null
  [key: string]: unknown
}

/** How to start the child and what to call as it talks. */
export interface ChatProcessOptions {
  python: string
  pythonRuntimeDir: string
  /** Seconds between the child's heartbeats; it is dead after three missed. */
  heartbeatSeconds: number
  onMessage: (message: ChatMessage) => void
  /** Called once when the child is gone, with why in words. */
  onExit: (reason: string) => void
}

/** The running child. */
export class ChatProcess {
  private readonly child: ChildProcessWithoutNullStreams
  private buffer = ''
  private stderr = ''
  private watchdog: NodeJS.Timeout
  private exited = false
  /** Resolves when the child has exited. */
  readonly ended: Promise<void>

  constructor(private readonly options: ChatProcessOptions) {
    this.child = spawn(options.python, ['-m', 'tunedeck_trainer.chat', 'serve', '--heartbeat-seconds', String(options.heartbeatSeconds)], {
      env: childEnvironment({ PYTHONPATH: options.pythonRuntimeDir, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' }),
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    })
    this.watchdog = this.armWatchdog()
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => this.read(chunk))
    // Keep the end of stderr: a traceback's last lines say why the process died.
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-8000)))
    this.child.stdin.on('error', () => undefined) // a write to a dead child is reported by 'exit'
    this.ended = new Promise((resolve) => {
      this.child.on('error', (error) => this.gone(`could not run ${options.python}: ${error.message}`, resolve))
      this.child.on('exit', (code, signal) => {
        const tail = this.stderr.trim().split('\n').slice(-3).join('\n')
        this.gone(`it exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}`, resolve)
      })
    })
  }

  /** The child's process id (tests kill it to see what the user sees). */
  get pid(): number | undefined {
    return this.child.pid
  }

  get alive(): boolean {
    return !this.exited
  }

  /** Writes one request line; ignored once the child is gone. */
  send(request: Record<string, unknown>): void {
    if (this.exited) return
    this.child.stdin.write(`${JSON.stringify(request)}\n`)
  }

  /** Asks the child to exit (stdin closed), and kills it if it has not within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.exited) {
      this.child.stdin.end()
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
      await this.ended
      clearTimeout(timer)
    }
  }

  private read(chunk: string): void {
    clearTimeout(this.watchdog)
    this.watchdog = this.armWatchdog()
    this.buffer += chunk
    let newline = this.buffer.indexOf('\n')
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline).trim()
      this.buffer = this.buffer.slice(newline + 1)
      newline = this.buffer.indexOf('\n')
      if (!line.startsWith('{')) continue // a stray print from a library, not the protocol
      try {
        const message = JSON.parse(line) as ChatMessage
        if (typeof message.type === 'string') this.options.onMessage(message)
      } catch {
        // A line that is not JSON is not for us; the protocol lines are always whole.
      }
    }
  }

  private armWatchdog(): NodeJS.Timeout {
    // The first heartbeat comes after torch has imported, which can take a while on a cold disk.
    const seconds = Math.max(this.options.heartbeatSeconds * 3, 60)
    const timer = setTimeout(() => {
      this.stderr += `\nno heartbeat for ${seconds} s`
      this.child.kill('SIGKILL')
    }, seconds * 1000)
    timer.unref()
    return timer
  }

  private gone(reason: string, resolve: () => void): void {
    if (this.exited) return
    this.exited = true
    clearTimeout(this.watchdog)
    this.options.onExit(reason)
    resolve()
  }
}
