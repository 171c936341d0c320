// Text files people write (task files, datasets, inputs to classify, model configs) may begin
// with a UTF-8 byte order mark, as some Windows editors save them. Read as UTF-8 it is a U+FEFF
// before the first character, which JSON.parse refuses: a task file would not parse and a
// dataset would lose its first example, while the editor, which hides the mark, shows nothing
// wrong. Every reader of such files goes through here.
import { readFileSync } from 'node:fs';

/** `text` without a leading byte order mark. */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A UTF-8 text file's contents, without a leading byte order mark. */
export function readTextFile(path: string): string {
  return withoutBom(readFileSync(path, 'utf8'));
}
