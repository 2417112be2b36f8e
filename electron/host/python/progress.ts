/**
 * Estimates how far a `pip install -r requirements.txt` has come from pip's
 * own lines. pip gives no total, so the estimate counts the top-level
 * requirements it has reached against the number in the file; dependencies
 * pulled in along the way do not move the bar.
 */

/** Counts the requirement lines of a requirements file (not comments, not options). */
export function countRequirements(text: string): number {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.length > 0 && !line.startsWith('-')).length
}

// Where each phase of the setup sits on the 0..1 bar.
const venvCreated = 0.05
const collectingEnd = 0.7
const installing = 0.8
const installed = 0.95

/** Follows pip's output and keeps a progress estimate that only moves forward. */
export class PipProgress {
  private topLevelSeen = 0
  private value = 0

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
      this.advance(installing)
    } else if (/^Successfully installed/.test(line)) {
      this.advance(installed)
    }
  }

  /** Marks the whole setup as done. */
  done(): void {
    this.advance(1)
  }

  private advance(to: number): void {
    this.value = Math.max(this.value, Math.min(1, to))
  }
}
