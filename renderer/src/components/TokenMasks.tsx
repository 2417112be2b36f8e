/**
 * The tokenised examples as the trainer sees them: learned tokens (the
 * training targets) drawn apart from masked ones, special tokens marked,
 * with the token-length histogram, how many examples pass the maximum
 * sequence length, for plain text the number of training blocks, and how
 * many rows lose their tools to a chat template that does not render them.
 * Each piece is whole characters (byte-level tokens grouped by the trainer).
 * A preference or feedback row shows each answer after its prompt, captioned
 * with its side: chosen (learned toward) or rejected (learned away from), a
 * feedback answer desirable or undesirable.
 */
import type { JudgedSide, TokenPreview } from '@shared/datasets'
import { plural, toolsLostWarning } from '../logic/datasetPreview'
import { TokenHistogram } from './TokenHistogram'

/** Whitespace made visible, so a newline token is not an empty box. */
function shownText(text: string): string {
  return text.replace(/\n/g, '↵\n').replace(/\t/g, '→')
}

/** What each side's learned tokens mean, in the user's words. */
const sideCaptions: Record<JudgedSide, string> = {
  chosen: 'Chosen answer: learned toward',
  rejected: 'Rejected answer: learned away from',
  desirable: 'Desirable answer (label true): learned toward',
  undesirable: 'Undesirable answer (label false): learned away from',
}

/** The masks and token stats of one preview. */
export function TokenMasks({ tokens, maxSeqLength }: { tokens: TokenPreview; maxSeqLength: number }) {
  return (
    <div className="token-masks" data-testid="token-masks">
      <p className="muted small">
        Tokenised with {tokens.tokenizer}. <span className="token learned">learned</span> <span className="token masked">masked</span>{' '}
        <span className="token special">special</span>
      </p>
      <p className="small" data-testid="token-stats">
        {tokens.blocks !== null
          ? `${plural(
              tokens.histogram.reduce((sum, bin) => sum + bin.count, 0),
              'document',
            )} in ${plural(tokens.blocks, 'training block')} of up to ${maxSeqLength} tokens, each document ended by the end-of-text token; every token trains once.`
          : `${plural(tokens.overLength, 'example')} longer than ${maxSeqLength} tokens (cut to it when training).`}{' '}
        {plural(tokens.learnedTokens, 'token')} to learn from.
      </p>
      {tokens.toolsLost > 0 && (
        <p className="field-hint warning" data-testid="tools-lost" role="status">
          {toolsLostWarning(tokens.toolsLost)}
        </p>
      )}
      {tokens.histogram.length > 0 && (
        <TokenHistogram histogram={tokens.histogram} maxSeqLength={maxSeqLength} unit={tokens.blocks !== null ? 'document' : 'example'} />
      )}
      {tokens.examples.map((example, index) => {
        const side = tokens.sides[index] ?? null
        return (
          <figure
            key={index}
            className={`token-figure${side ? ` side-${side}` : ''}`}
            data-testid="token-figure"
            data-side={side ?? undefined}
          >
            {side && (
              <figcaption className="small token-side" data-testid="token-side">
                {sideCaptions[side]}
              </figcaption>
            )}
            <pre className="token-example" data-testid="token-example">
              {example.map((token, position) => (
                <span
                  key={position}
                  className={`token ${token.learned ? 'learned' : 'masked'}${token.special ? ' special' : ''}`}
                  data-learned={token.learned}
                  data-special={token.special}
                  title={token.tokens > 1 ? `${token.tokens} tokens` : undefined}
                >
                  {shownText(token.text)}
                </span>
              ))}
            </pre>
          </figure>
        )
      })}
    </div>
  )
}
