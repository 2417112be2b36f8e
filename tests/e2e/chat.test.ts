/**
 * Chat in the browser: train the self-test, open Chat from the job page, ask a question, and
 * watch the tuned and the base pane stream at once and finish; the exact prompt shows on
 * request and the conversation is listed; a chat process killed mid-answer is reported in both
 * panes and Restart brings it back. Leaves test-results/chat.png.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { askChat, createSelftestJob, jobStatus, screenshot, useServedBrowser, withDiagnostics } from './harness'

/** The chat processes serve started (its children running tunedeck_trainer.chat). */
function chatProcesses(servePid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        return parent === servePid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('tunedeck_trainer.chat')
      } catch {
        return false // gone meanwhile
      }
    })
    .map(Number)
}

// Slow the tokens a little (the chat process's test hook) so that both panes are seen mid-answer.
process.env.TUNEDECK_CHAT_TOKEN_DELAY = '0.05'
const host = useServedBrowser()

describe('chat in the browser', () => {
  it("chats with a job's adapter beside the base model, both panes streaming", async () => {
    const page = host.page()
    await page.goto(host.served().url)
    await withDiagnostics(page, host.served(), 'chat', async () => {
      await createSelftestJob(page, { epochs: '1', name: 'chat-selftest' })
      await expect.poll(() => jobStatus(page), { timeout: 180_000, interval: 500 }).toBe('completed')
      await page.getByTestId('job-chat').click()
      await page.getByTestId('chat-view').waitFor()
      expect(page.url()).toMatch(/#\/chat\/[^/]+$/)
      await askChat(page, 'What is two plus two?', { temperature: '0', maxTokens: '40' })

      const panes = page.getByTestId('chat-pane')
      // Both at once: two answers still generating, each with some text already.
      await expect
        .poll(
          async () => {
            const states = await panes.evaluateAll((nodes) =>
              nodes.map((node) => [
                node.getAttribute('data-state'),
                node.querySelector('[data-testid="chat-pane-text"]')?.textContent ?? '',
              ]),
            )
            return states.length === 2 && states.every(([state, text]) => state === 'streaming' && text.length > 0)
          },
          { timeout: 120_000, interval: 50 },
        )
        .toBe(true)
      expect(await panes.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-label')))).toEqual([
        'chat-selftest',
        'Base model',
      ])
      await expect
        .poll(async () => await panes.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-state'))), { timeout: 60_000 })
        .toEqual([expect.stringMatching(/^(eos|length)$/), expect.stringMatching(/^(eos|length)$/)])
      expect(await page.getByTestId('chat-stop').count()).toBe(0)
      expect(await page.getByTestId('chat-device').textContent()).toBe('CPU')
      expect(await page.getByTestId('chat-notice').allTextContents()).toContain(
        'No CUDA GPU is available: chat runs on the CPU, slowly but correctly.',
      )

      await page.getByTestId('chat-prompt-toggle').check()
      expect(await page.getByTestId('chat-prompt').first().textContent()).toBe(
        '<|im_start|>user\nWhat is two plus two?<|im_end|>\n<|im_start|>assistant\n',
      )
      expect(await page.getByTestId('chat-conversation').allTextContents()).toEqual(['What is two plus two?'])
      await screenshot(page, 'chat.png')

      // The chat process dies mid-answer: the panes say so, and Restart brings it back.
      await askChat(page, 'Tell me a long story.', { temperature: '1', maxTokens: '2000', open: false })
      await page.getByTestId('chat-stop').waitFor({ timeout: 60_000 })
      // Named for what it stops, apart from the sidebar's queue button.
      expect(await page.getByTestId('chat-stop').textContent()).toBe('Stop answering')
      expect(await page.getByTestId('queue-toggle').textContent()).toBe('Hold the queue')
      const [chatPid] = chatProcesses(host.served().child.pid as number)
      expect(chatPid).toBeDefined()
      process.kill(chatPid as number, 'SIGKILL')
      await expect
        .poll(() => page.getByTestId('chat-pane-message').allTextContents(), { timeout: 30_000 })
        .toEqual([
          expect.stringContaining('The chat process stopped unexpectedly'),
          expect.stringContaining('The chat process stopped unexpectedly'),
        ])
      await page.getByTestId('chat-restart').click()
      await expect.poll(() => page.getByTestId('chat-status').getAttribute('data-state'), { timeout: 120_000 }).toBe('ready')
    })
  }, 300_000)
})
