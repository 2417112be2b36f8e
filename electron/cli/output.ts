/**
 * Where a command prints: the terminal in main.ts, a recorder in tests. Its own module because
 * run.ts (the dispatcher) and the commands it runs (chat, push, evaluate) all take one; kept in
 * run.ts it made each of those import the dispatcher that imports them.
 */
export interface Output {
  out: (text: string) => void
  err: (text: string) => void
  /** Writes text as is (streamed tokens); `out` ends what it prints with a newline. */
  write?: (text: string) => void
  /** The user's lines for `chat`; standard input when absent. */
  lines?: () => AsyncIterable<string>
}
