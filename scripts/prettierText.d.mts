/** `text`, the content of the file at `relative` (to the repository root), as Prettier lays it out; unchanged where Prettier skips the file. */
export function prettierText(relative: string, text: string): Promise<string>
