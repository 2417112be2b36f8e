/**
 * A process's main thread as the Linux scheduler saw it: /proc/PID/task/PID/schedstat holds the
 * nanoseconds it ran on a CPU and the nanoseconds it was runnable but waited for one. Between two
 * readings, the rest of the wall time it was blocked (I/O, a full pipe or pty, a lock, a sleep):
 * the time the trainer's compute thread was idle for reasons of its own or of the app, whatever
 * else the machine was busy with.
 */
import fs from 'node:fs'

/** Seconds between the first and last reading, and the thread's share of them. */
export interface Schedule {
  samples: number
  spanSeconds: number
  runSeconds: number
  waitSeconds: number
  idleSeconds: number
}

interface Reading {
  at: number
  run: number
  wait: number
}

function read(pid: number): Reading | null {
  try {
    const [run, wait] = fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number)
    return { at: performance.now() / 1000, run: (run ?? 0) / 1e9, wait: (wait ?? 0) / 1e9 }
  } catch {
    return null // not started yet, or gone
  }
}

/** Reads the thread of `pid()` every `everyMs` until stop(); a pid that changes starts afresh. */
export function sampleSchedule(pid: () => number | null, everyMs = 100): { stop(): Schedule } {
  let first: Reading | null = null
  let last: Reading | null = null
  let samples = 0
  let known: number | null = null
  const tick = () => {
    known ??= pid()
    if (known === null) return
    const reading = read(known)
    if (!reading) return
    first ??= reading
    last = reading
    samples += 1
  }
  tick()
  const timer = setInterval(tick, everyMs)
  return {
    stop() {
      clearInterval(timer)
      if (!first || !last) return { samples, spanSeconds: 0, runSeconds: 0, waitSeconds: 0, idleSeconds: 0 }
      const spanSeconds = last.at - first.at
      const runSeconds = last.run - first.run
      const waitSeconds = last.wait - first.wait
      return { samples, spanSeconds, runSeconds, waitSeconds, idleSeconds: Math.max(0, spanSeconds - runSeconds - waitSeconds) }
    },
  }
}
