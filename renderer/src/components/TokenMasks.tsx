/**
 * The tokenised examples as the trainer sees them: learned tokens (the
 * training targets) drawn apart from masked ones, special tokens marked,
 * with the token-length histogram, how many examples pass the maximum
 * sequence length, and for plain text the number of training blocks.
 */
import type { TokenPreview } from '@shared/datasets'

/** Whitespace made visible, so a newline token is not an empty box. */
function shownText(text: string): string {
  return text.replace(/\n/g, '↵\n').replace(/\t/g, '→')
}

/** The masks and token stats of one preview. */
export function TokenMasks({ tokens, maxSeqLength }: { tokens: TokenPreview; maxSeqLength: number }) {
  const tallest = Math.max(1, ...tokens.histogram.map((bin) => bin.count))
  return (
    <div className="token-masks" data-testid="token-masks">
      <p className="muted small">
        Tokenised with {tokens.tokenizer}. <span className="token learned">learned</span> <span className="token masked">masked</span>{' '}
        <span className="token special">special</span>
      </p>
      <p className="small" data-testid="token-stats">
        {tokens.blocks !== null
          ? `${tokens.blocks} training blocks of up to ${maxSeqLength} tokens; every token trains once.`
          : `${tokens.overLength} example(s) longer than ${maxSeqLength} tokens (cut to it when training).`}{' '}
        {tokens.learnedTokens} tokens to learn from.
      </p>
      {tokens.histogram.length > 0 && (
        <div className="token-histogram" data-testid="token-histogram" aria-label="Tokens per example">
          {tokens.histogram.map((bin) => (
            <div key={bin.start} className="token-bin" title={`${bin.start}–${bin.end - 1} tokens: ${bin.count} example(s)`}>
              <div className={`token-bar${bin.end > maxSeqLength ? ' over' : ''}`} style={{ height: `${(bin.count / tallest) * 100}%` }} />
            </div>
          ))}
        </div>
      )}
      {tokens.examples.map((example, index) => (
        <pre key={index} className="token-example" data-testid="token-example">
          {example.map((token, position) => (
            <span key={position} className={`token ${token.learned ? 'learned' : 'masked'}${token.special ? ' special' : ''}`} data-learned={token.learned} data-special={token.special}>
              {shownText(token.text)}
            </span>
          ))}
        </pre>
      ))}
    </div>
  )
}
