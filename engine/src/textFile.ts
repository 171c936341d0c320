// Text files people write (task files, datasets, inputs to classify, model configs) may begin
// with a UTF-8 byte order mark, as some Windows editors save them. Read as UTF-8 it is a U+FEFF
// before the first character, which JSON.parse refuses: a task file would not parse and a
// dataset would lose its first example, while the editor, which hides the mark, shows nothing
// wrong. Every reader of such files goes through here. Also here: writing a file that must not
// exist yet (a new task file, a lock), whole or not at all.
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** `text` without a leading byte order mark. */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A UTF-8 text file's contents, without a leading byte order mark. */
export function readTextFile(path: string): string {
  return withoutBom(readFileSync(path, 'utf8'));
}

/**
 * Writes a file that must not exist yet: to a temporary name, then linked into place, which
 * fails instead of replacing a file that appeared meanwhile, and never shows a half-written
 * file to a reader. False when the name is taken.
 */
export function writeNewFile(path: string, text: string): boolean {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(temp, text);
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(temp);
  }
}
