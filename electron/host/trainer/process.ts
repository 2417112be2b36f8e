/**
 * One trainer process in a pseudo-terminal. The pty gives the trainer a real
 * terminal (progress bars, colors) and us its input for control commands.
 * Stopping escalates: the cancel command, then Ctrl-C, then SIGKILL of the
 * whole process tree, so dataloader workers and grandchildren go too.
 */
import * as pty from 'node-pty'
import type { ControlCommand } from '@shared/protocol'
import { drainBeforeDestroy } from './ptyDrain'
import { killProcessTree, processStartTime, readStat, rememberTree, type ProcessStat } from './tree'

/** What to run; tests substitute fixture trainers. */
export interface TrainerCommand {
  file: string
  args: string[]
}

export interface TrainerExit {
  exitCode: number
  /** The signal that ended it, or null when it exited by itself. */
  signal: number | null
}

export interface TrainerProcessOptions {
  command: TrainerCommand
  cwd: string
  env: Record<string, string>
  /** Every chunk the trainer writes to its terminal, in order. */
  onData: (data: string) => void
  /** Once, after the process has exited and its leftover tree members were killed. */
  onExit: (exit: TrainerExit) => void
}

/** After the cancel command, wait this long before Ctrl-C... */
export const interruptAfterMs = 3_000
/** ...and this long (from the command) before killing the whole tree. */
export const killAfterMs = 7_000

const isWindows = process.platform === 'win32'

/** A running trainer and the means to stop it. */
export class TrainerProcess {
  readonly pid: number
  /** The OS's start time of the process, to recognise it later; null where unknown. */
  readonly startTime: string | null
  private readonly terminal: pty.IPty
  private readonly leader: ProcessStat
  /** Tree members seen so far (pid -> start time), so one orphaned later is still found. */
  private readonly known = new Map<number, string>()
  private readonly timers: NodeJS.Timeout[] = []
  private exited = false

  constructor(private readonly options: TrainerProcessOptions) {
    this.terminal = pty.spawn(options.command.file, options.command.args, {
      name: 'xterm-256color',
      cols: 120,
      rows: 30,
      cwd: options.cwd,
      env: options.env,
    })
    this.pid = this.terminal.pid
    this.startTime = processStartTime(this.pid)
    this.leader = readStat(this.pid) ?? {
      pid: this.pid,
      ppid: process.pid,
      group: this.pid,
      session: this.pid,
      startTime: this.startTime ?? '0',
    }
    this.terminal.onData((data) => options.onData(data))
    drainBeforeDestroy(this.terminal, options.onData)
    this.terminal.onExit(({ exitCode, signal }) => this.handleExit(exitCode, signal))
  }

  /** True until the process has exited. */
  get running(): boolean {
    return !this.exited
  }

  /** Writes one control command as a JSON line to the trainer's input. */
  send(command: ControlCommand): void {
    // ConPTY turns '\r' into Enter; a POSIX pty in canonical mode ends the line at '\n'.
    this.write(JSON.stringify(command) + (isWindows ? '\r' : '\n'))
  }

  /** Ctrl-C: SIGINT to the foreground group on POSIX, a console control event under ConPTY. */
  interrupt(): void {
    this.write('\x03')
  }

  /**
   * Asks the trainer to cancel, and makes sure it ends: Ctrl-C after 3 s,
   * SIGKILL of the whole tree after 7 s.
   */
  cancel(): void {
    this.send({ cmd: 'cancel' })
    this.remember()
    this.later(interruptAfterMs, () => {
      this.remember()
      this.interrupt()
    })
    this.later(killAfterMs, () => this.kill())
  }

  /** Kills the process and every member of its tree now. */
  kill(): void {
    if (isWindows) {
      killProcessTree(this.leader)
      try {
        this.terminal.kill()
      } catch {
        // already gone
      }
      return
    }
    killProcessTree(this.leader, this.known)
  }

  /** Notes the tree's current members, so that those orphaned later can still be killed. */
  remember(): void {
    if (!this.exited) rememberTree(this.leader, this.known)
  }

  private later(delayMs: number, action: () => void): void {
    this.timers.push(
      setTimeout(() => {
        if (!this.exited) action()
      }, delayMs),
    )
  }

  private write(data: string): void {
    if (this.exited) return
    try {
      this.terminal.write(data)
    } catch {
      // the pty closed between the check and the write: the exit handler follows
    }
  }

  private handleExit(exitCode: number, signal: number | undefined): void {
    if (this.exited) return
    this.exited = true
    for (const timer of this.timers) clearTimeout(timer)
    // Whatever the trainer left behind (workers that ignore SIGHUP, grandchildren) goes with it.
    if (!isWindows) killProcessTree(this.leader, this.known)
    this.options.onExit({ exitCode, signal: signal ? signal : null })
  }
}
