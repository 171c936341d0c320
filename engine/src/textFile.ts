// Text files people write (task files, datasets, inputs to classify, model configs) may begin
// with a UTF-8 byte order mark, as some Windows editors save them. Read as UTF-8 it is a U+FEFF
// before the first character, which JSON.parse refuses: a task file would not parse and a
// dataset would lose its first example, while the editor, which hides the mark, shows nothing
// wrong. Every reader of such files goes through here. Also here: writing a file that must not
// exist yet (a new task file, a lock), whole or not at all.
import { closeSync, constants, fstatSync, linkSync, openSync, readFileSync, rmSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { TextDecoder } from 'node:util';
import { syncFolder, tempPath, writeDurably } from './atomicFile';
import { errorMessage } from './errorMessage';

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
    /** The 1-based line the problem is on, when it is on one (`path:line: reason`). */
    readonly line?: number,
  ) {
    super(`${path}${line === undefined ? '' : `:${line}`}: ${reason}`, { cause });
    this.name = 'TextFileError';
  }
}

/**
 * Why `stat` is no file to read, or undefined when it is a regular file. A named pipe blocks its
 * reader until something writes (for ever), and a device reports size 0 and may never end
 * (/dev/zero: memory grows until the process dies): a path a task file names (a dataset) is
 * anyone's to point there, so every reader refuses them by name (readTextFile, the label index).
 */
export function notRegularFile(stat: Stats): string | undefined {
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return 'is a folder, not a file';
  const kind = stat.isFIFO() ? 'a FIFO (named pipe)' : stat.isSocket() ? 'a socket' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'a device' : 'not a file';
  return `not a regular file (${kind})`;
}

/** Throws a TextFileError naming `path` when `stat` is not a regular file (notRegularFile). */
export function checkRegularFile(path: string, stat: Stats): void {
  const problem = notRegularFile(stat);
  if (problem !== undefined) throw new TextFileError(path, problem, stat.isDirectory() ? 'EISDIR' : 'ENOTREG', undefined);
}

/**
 * Opens `path` for reading, refusing anything but a regular file (checkRegularFile). The check is
 * on the opened descriptor (fstat), so the path cannot be swapped for a pipe between a check and
 * the read; the open itself does not wait (O_NONBLOCK: opening a pipe with no writer would block
 * until one comes, and has no effect on a regular file's reads). Windows has no O_NONBLOCK (0).
 * Errors are TextFileErrors; the caller closes the descriptor.
 */
export function openRegularFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TextFileError(path, code === 'EISDIR' ? 'is a folder, not a file' : (err as Error).message, code, err);
  }
  try {
    checkRegularFile(path, fstatSync(fd));
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** A UTF-8 text file's contents, without a leading byte order mark; errors are TextFileErrors (a pipe or a device is refused: openRegularFile). */
export function readTextFile(path: string): string {
  const fd = openRegularFile(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TextFileError(path, code === 'EISDIR' ? 'is a folder, not a file' : (err as Error).message, code, err);
  } finally {
    closeSync(fd);
  }
  return withoutBom(decodeUtf8(bytes, path));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `bytes` as UTF-8, refused (a TextFileError naming the line) where they are not. Node's lenient
 * decoding puts U+FFFD in place of each bad byte, and a Latin-1 dataset would then be trained on
 * with its accented letters replaced, unseen; a UTF-16 file would read as text full of NULs.
 */
export function decodeUtf8(bytes: Uint8Array, path: string): string {
  return decodeUtf8Part(bytes, path);
}

/** Where a part of a file lies, for decodeUtf8Part; the defaults are a whole file. */
export interface Utf8Part {
  /** A fatal decoder: one kept across a file's parts (`stream`) joins a character cut between them. */
  decoder?: TextDecoder;
  /** The part is the file's beginning, where a UTF-16 file is told apart. */
  start?: boolean;
  /** Whole lines before the part, so that an error names the file's line (about, for a cut character). */
  linesBefore?: number;
  /** More parts follow: a character cut at the end waits in `decoder` for the next. */
  stream?: boolean;
}

/** A part of file `path` as UTF-8, as decodeUtf8 decodes a whole one (a reader in chunks: the label index). */
export function decodeUtf8Part(bytes: Uint8Array, path: string, { decoder = strictUtf8, start = true, linesBefore = 0, stream = false }: Utf8Part = {}): string {
  if (start && isUtf16(bytes)) throw new TextFileError(path, 'the file is UTF-16; save it as UTF-8', 'EILSEQ', undefined);
  try {
    return decoder.decode(bytes, { stream });
  } catch (err) {
    throw new TextFileError(path, 'not valid UTF-8; save the file as UTF-8', 'EILSEQ', err, linesBefore + firstBadLine(bytes));
  }
}

/** A UTF-16 byte order mark (FF FE or FE FF), or a NUL in either of the first two bytes (UTF-16 without a mark, mostly ASCII). */
function isUtf16(bytes: Uint8Array): boolean {
  const [a, b] = [bytes[0], bytes[1]];
  if ((a === 0xff && b === 0xfe) || (a === 0xfe && b === 0xff)) return true;
  return bytes.length >= 2 && (a === 0) !== (b === 0);
}

/** The 1-based line of the first byte sequence that is not UTF-8: lines are cut at newline bytes, which no UTF-8 sequence contains. */
function firstBadLine(bytes: Uint8Array): number {
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    const end = bytes.indexOf(0x0a, start);
    const stop = end < 0 ? bytes.length : end;
    try {
      strictUtf8.decode(bytes.subarray(start, stop));
    } catch {
      return line;
    }
    start = stop + 1;
  }
  return 1;
}

/** What went wrong reading a file, without its path when the error carries it apart. */
export function readProblem(err: unknown): string {
  if (err instanceof TextFileError) return err.reason;
  return errorMessage(err);
}

/**
 * Writes a file that must not exist yet: to a temporary name (flushed to disk), then linked into
 * place, which fails instead of replacing a file that appeared meanwhile, and never shows a
 * half-written file to a reader. False when the name is taken. The temporary file is removed on
 * every path, a failed write's too.
 */
export function writeNewFile(path: string, text: string): boolean {
  const temp = tempPath(path);
  try {
    writeDurably(temp, [Buffer.from(text)]);
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
  syncFolder(dirname(path));
  return true;
}
