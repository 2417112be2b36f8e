/**
 * The trainer's terminal, read-only, in xterm.js. It writes only the text
 * added since the last render, and starts over when the store replaced the
 * text (a reload from jobs.terminal).
 */
import { useEffect, useRef } from 'react'
import { Terminal } from '@xterm/xterm'
import { FitAddon } from '@xterm/addon-fit'
import '@xterm/xterm/css/xterm.css'
import { useTerminal } from '../stores/terminal'

/** Props: the job whose output to show. */
export function TerminalView({ jobId }: { jobId: string }) {
  const container = useRef<HTMLDivElement>(null)
  const terminal = useRef<Terminal | null>(null)
  const written = useRef({ total: 0, resets: -1 })
  const output = useTerminal(jobId)

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
    const instance = terminal.current
    if (!instance) return
    const done = written.current
    if (done.resets !== output.resets) {
      instance.reset()
      instance.write(output.text)
    } else if (output.total > done.total) {
      const added = output.total - done.total
      instance.write(output.text.slice(Math.max(0, output.text.length - added)))
    }
    written.current = { total: output.total, resets: output.resets }
  }, [output])

  return <div className="terminal" data-testid="terminal" data-chars={output.total} ref={container} />
}
