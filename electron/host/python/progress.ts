/**
 * Estimates how far a `pip install -r requirements.txt` has come from pip's
 * own lines. pip gives no total, so the estimate counts the top-level
 * requirements it has reached against the number in the file; dependencies
 * pulled in along the way do not move the bar. While pip installs (minutes for
 * torch and its CUDA libraries, with no output), the bar follows the bytes
 * written into the environment against the sizes of the wheels it fetched.
 */

/** Counts the requirement lines of a requirements file (not comments, not options). */
export function countRequirements(text: string): number {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.length > 0 && !line.startsWith('-')).length
}

/** Bytes of the wheel a "Downloading x.whl (899.7 MB)" or "Using cached x.whl (1.2 kB)" line names. */
export function wheelBytes(line: string): number | null {
  const match = /^(?:Downloading|Using cached)\b.*\(([\d.]+)\s*(kB|MB|GB|B)\)\s*$/.exec(line.trim())
  if (!match) return null
  const scale = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[match[2] as 'B' | 'kB' | 'MB' | 'GB']
  return Number.parseFloat(match[1]!) * scale
}

/**
 * Installed size over wheel size: wheels are zip files, and the CUDA libraries and torch
 * unpack to about twice their download (3.6 GB of wheels became a 7.4 GB environment).
 */
const unpackRatio = 2

// Where each phase of the setup sits on the 0..1 bar.
const venvCreated = 0.05
const collectingEnd = 0.7
const installing = 0.8
const installed = 0.95

/** Follows pip's output and keeps a progress estimate that only moves forward. */
export class PipProgress {
  private topLevelSeen = 0
  private value = 0
  private wheelTotal = 0
  private installingNow = false

  constructor(private readonly requirementCount: number) {}

  /** The current estimate, 0..1. */
  get progress(): number {
    return this.value
  }

  /** Marks the venv as created (the first visible step). */
  venvReady(): void {
    this.advance(venvCreated)
  }

  /** Reads one line of pip output and moves the estimate if it marks a step. */
  line(text: string): void {
    const line = text.trim()
    this.wheelTotal += wheelBytes(line) ?? 0
    // "(from -r" marks a requirement named in the file itself, not a dependency of one.
    const topLevel = line.includes('(from -r ')
    if (topLevel && /^(Collecting|Processing|Requirement already satisfied|Obtaining)\b/.test(line)) {
      this.topLevelSeen += 1
      const share = Math.min(1, this.topLevelSeen / Math.max(1, this.requirementCount))
      this.advance(venvCreated + (collectingEnd - venvCreated) * share)
    } else if (/^Downloading\b/.test(line)) {
      // A download after the last top-level requirement is a dependency: creep forward a little.
      this.advance(Math.min(collectingEnd, this.value + 0.005))
    } else if (/^Installing collected packages/.test(line)) {
      this.installingNow = true
      this.advance(installing)
    } else if (/^Successfully installed/.test(line)) {
      this.installingNow = false
      this.advance(installed)
    }
  }

  /**
   * While pip installs: `written` bytes have appeared in the environment since it began. The
   * bar moves through the install phase as they approach the unpacked size of the wheels, and
   * stops short of its end until pip says it succeeded. Returns whether the bar moved.
   */
  installedBytes(written: number): boolean {
    if (!this.installingNow || this.wheelTotal <= 0) return false
    const before = this.value
    const share = Math.min(0.95, Math.max(0, written) / (unpackRatio * this.wheelTotal))
    this.advance(installing + (installed - installing) * share)
    return this.value - before >= 0.005
  }

  /** Marks the whole setup as done. */
  done(): void {
    this.advance(1)
  }

  private advance(to: number): void {
    this.value = Math.max(this.value, Math.min(1, to))
  }
}
