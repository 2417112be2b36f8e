/** Each changed or untracked path of the checkout at `root` with a digest of its bytes; null outside git. */
export function checkoutState(root: string): Map<string, string> | null
/** The paths whose state differs between two checkoutState results, sorted. */
export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[]
