/**
 * Names people give (jobs, datasets, adapters) are shown in the app and printed by the command
 * line. Control characters in one would reach a terminal as commands: ESC starts a sequence
 * that can clear the screen, retitle the window or hide text, BEL rings, a line break forges a
 * line, and the bidi overrides reorder what is shown. A typed name with them is refused; a name
 * taken from a file name is cleaned; the command line escapes any it prints.
 */
import { z } from 'zod'

/** C0 controls, DEL, C1 controls (U+009B is a CSI on some terminals), and the bidi embeddings, overrides and isolates. */
const controlClass = '\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069'
const anyControl = new RegExp(`[${controlClass}]`)
const everyControl = new RegExp(`[${controlClass}]+`, 'g')
const eachControl = new RegExp(`[${controlClass}]`, 'g')

/** A name as a person types it: no control characters. */
export function typedName(): z.ZodString {
  return z.string().refine((text) => !hasControlCharacters(text), nameControlProblem)
}

/** What the field says about a typed name with control characters. */
export const nameControlProblem = 'control characters (escape sequences, bells, line breaks) cannot be part of a name: type it without them'

/** True when `text` holds a control character. */
export function hasControlCharacters(text: string): boolean {
  return anyControl.test(text)
}

/** `text` with each run of control characters made one space, trimmed. */
export function cleanName(text: string): string {
  return text.replace(everyControl, ' ').replace(/ {2,}/g, ' ').trim()
}

/**
 * `text` with every control character but line breaks and tabs written as \xNN or \uNNNN, for
 * printing to a terminal; `json` writes \uNNNN only, which keeps JSON text valid.
 */
export function escapeControls(text: string, json = false): string {
  return text.replace(eachControl, (character) => {
    if (character === '\n' || character === '\t') return character
    const code = character.charCodeAt(0)
    return code <= 0xff && !json ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}
