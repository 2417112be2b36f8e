/**
 * The trainer's terminal, read-only, in xterm.js. It writes only the text
 * added since the last render, and starts over when the store replaced the
 * text (a reload from jobs.terminal).
 */
import { useEffect, useRef } from 'react'
import { Terminal } from '@xterm/xterm'
import { FitAddon } from '@xterm/addon-fit'
import '@xterm/xterm/css/xterm.css'
import { terminalWrite } from '../logic/terminal'
import { useTerminal, type TerminalText } from '../stores/terminal'

/** Props: the job whose output to show. */
export function TerminalView({ jobId }: { jobId: string }) {
  const container = useRef<HTMLDivElement>(null)
  const terminal = useRef<Terminal | null>(null)
  const written = useRef({ total: 0, resets: -1 })
  const output = useTerminal(jobId)
  const latest = useRef<TerminalText>(output)
  // True while xterm parses the last write: the next waits for it, so a flood never queues more than one write.
  const busy = useRef(false)

  useEffect(() => {
    if (!container.current) return
    const instance = new Terminal({
      disableStdin: true,
      convertEol: true,
      cursorBlink: false,
      cursorStyle: 'bar',
      cursorInactiveStyle: 'none',
      scrollback: 5000,
      fontSize: 12,
      fontFamily: 'ui-monospace, "JetBrains Mono", "Cascadia Mono", Menlo, Consolas, monospace',
      theme: { background: '#0b0e14', foreground: '#c9d1e0', selectionBackground: '#33415c' },
    })
    const fit = new FitAddon()
    instance.loadAddon(fit)
    instance.open(container.current)
    terminal.current = instance
    written.current = { total: 0, resets: -1 }
    busy.current = false
    const refit = (): void => {
      try {
        fit.fit()
      } catch {
        // Not laid out yet (hidden or zero size); the next resize fits it.
      }
    }
    refit()
    const observer = new ResizeObserver(refit)
    observer.observe(container.current)
    return () => {
      observer.disconnect()
      instance.dispose()
      terminal.current = null
    }
  }, [jobId])

  useEffect(() => {
    latest.current = output
    const pump = (): void => {
      const instance = terminal.current
      if (!instance || busy.current) return
      const now = latest.current
      const done = written.current
      let chunk: string
      if (done.resets !== now.resets) {
        instance.reset()
        chunk = terminalWrite(now.text, now.text.length)
      } else if (now.total > done.total) {
        chunk = terminalWrite(now.text, now.total - done.total)
      } else return
      written.current = { total: now.total, resets: now.resets }
      busy.current = true
      instance.write(chunk, () => {
        if (terminal.current !== instance) return
        busy.current = false
        pump()
      })
    }
    pump()
  }, [output])

  return <div className="terminal" data-testid="terminal" data-chars={output.total} ref={container} />
}
