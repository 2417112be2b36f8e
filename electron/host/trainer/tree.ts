/**
 * Process identity and process-tree killing. A pid alone is not an identity:
 * after a process exits the OS may give its pid to another, so we pair it
 * with the process's start time and check both before killing.
 * Linux reads /proc; macOS asks `ps`; Windows uses taskkill.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'

/** One line of /proc/<pid>/stat, the fields we need. */
export interface ProcessStat {
  pid: number
  ppid: number
  /** Process group id. */
  group: number
  /** Session id. */
  session: number
  /** Field 22: clock ticks after boot when the process started. */
  startTime: string
}

const isLinux = process.platform === 'linux'

/** Reads /proc/<pid>/stat (Linux only); undefined when the process is gone. */
export function readStat(pid: number): ProcessStat | undefined {
  let text: string
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined // a zombie is already dead
  return {
    pid,
    ppid: Number(fields[1]),
    group: Number(fields[2]),
    session: Number(fields[3]),
    startTime: fields[19] ?? '',
  }
}

/** The process's start time, or null where the platform gives none or the process is gone. */
export function processStartTime(pid: number): string | null {
  if (isLinux) return readStat(pid)?.startTime ?? null
  if (process.platform === 'darwin') {
    try {
      const text = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8' }).trim()
      return text === '' ? null : text
    } catch {
      return null
    }
  }
  return null
}

/** True when `pid` runs and, if a start time is given and readable, is the same process. */
export function isSameProcessAlive(pid: number, startTime: string | null): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    // ESRCH: gone; EPERM: someone else's process, so not the one we started.
    return false
  }
  if (startTime === null) return true
  const now = processStartTime(pid)
  return now === null || now === startTime
}

/** Every live process on the machine (Linux only; empty elsewhere). */
export function listProcesses(): ProcessStat[] {
  if (!isLinux) return []
  const stats: ProcessStat[] = []
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid) || pid <= 0) continue
    const stat = readStat(pid)
    if (stat !== undefined) stats.push(stat)
  }
  return stats
}

/**
 * The processes that belong to the tree led by `leader`: its process group
 * and session (which keep them even after their parent died), and every
 * process whose parent chain reaches the leader or one of `known` (which
 * catches children that started their own session or group).
 */
export function treeMembers(leader: ProcessStat, known: ReadonlyMap<number, string> = new Map()): ProcessStat[] {
  const all = listProcesses()
  const byPid = new Map(all.map((stat) => [stat.pid, stat]))
  // Once another process holds the leader's pid, the group and session ids are its own, not ours.
  const reused = isReused(leader, byPid.get(leader.pid))
  const roots = new Set<number>(reused ? [] : [leader.pid])
  for (const [pid, startTime] of known) if (byPid.get(pid)?.startTime === startTime) roots.add(pid)
  const leaderTicks = Number(leader.startTime)
  const members: ProcessStat[] = []
  for (const stat of all) {
    // A process started before the leader cannot be its descendant; this also guards against reused ids.
    if (Number(stat.startTime) < leaderTicks) continue
    let inTree = (!reused && (stat.group === leader.pid || stat.session === leader.pid)) || roots.has(stat.pid)
    for (let cursor = byPid.get(stat.ppid), hops = 0; !inTree && cursor !== undefined && hops < 64; hops += 1) {
      if (roots.has(cursor.pid)) inTree = true
      cursor = byPid.get(cursor.ppid)
    }
    if (inTree) members.push(stat)
  }
  return members
}

/** True when `current` (what now has the leader's pid) is another process than the leader. */
function isReused(leader: ProcessStat, current: ProcessStat | undefined): boolean {
  return isLinux && current !== undefined && current.startTime !== leader.startTime
}

/** Sends SIGKILL, ignoring a process that is already gone. */
function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone, or not ours
  }
}

/**
 * Kills the whole tree of a process we started: its group, its session, and
 * every known or found descendant. `known` collects members seen earlier, so
 * a grandchild whose parent has already died is not missed.
 */
export function killProcessTree(leader: ProcessStat, known: Map<number, string> = new Map()): void {
  if (process.platform === 'win32') {
    try {
      execFileSync('taskkill', ['/PID', String(leader.pid), '/T', '/F'], { stdio: 'ignore' })
    } catch {
      // taskkill fails when the process has already exited
    }
    return
  }
  const ours = !isReused(leader, readStat(leader.pid))
  // Stop the group first so no member forks a replacement while we walk the list.
  if (ours) killQuietly(-leader.pid, 'SIGSTOP')
  for (const member of treeMembers(leader, known)) known.set(member.pid, member.startTime)
  if (ours) killQuietly(-leader.pid)
  for (const [pid, startTime] of known) {
    if (isLinux && readStat(pid)?.startTime !== startTime) continue
    killQuietly(pid)
  }
  if (ours) killQuietly(leader.pid)
}

/** Adds the tree's current members to `known` (Linux only). */
export function rememberTree(leader: ProcessStat, known: Map<number, string>): void {
  if (!isLinux) return
  for (const member of treeMembers(leader, known)) known.set(member.pid, member.startTime)
}

/** Resolves when none of the pids in `known` nor the leader is alive any more, or after `timeoutMs`. */
export async function waitForTreeGone(leader: ProcessStat, known: ReadonlyMap<number, string>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const alive = [[leader.pid, leader.startTime] as const, ...known].some(([pid, startTime]) =>
      isLinux ? readStat(pid)?.startTime === startTime : isSameProcessAlive(pid, null),
    )
    if (!alive) return true
    if (Date.now() >= deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
