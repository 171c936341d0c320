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

/**
 * A file that could not be read. Node's EISDIR message ("illegal operation on a directory,
 * read") names no path, so a folder given where a file belongs is named here; `reason` is the
 * problem without the path, for callers that name the file themselves.
 */
export class TextFileError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`${path}: ${reason}`, { cause });
    this.name = 'TextFileError';
  }
}

/** A UTF-8 text file's contents, without a leading byte order mark; errors are TextFileErrors. */
export function readTextFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TextFileError(path, code === 'EISDIR' ? 'is a folder, not a file' : (err as Error).message, code, err);
  }
  return withoutBom(text);
}

/** What went wrong reading a file, without its path when the error carries it apart. */
export function readProblem(err: unknown): string {
  if (err instanceof TextFileError) return err.reason;
  return err instanceof Error ? err.message : String(err);
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
