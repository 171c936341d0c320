// The length of the command line, and the prompt from a file instead. onnxruntime-node reads the
// process's command line when its first session starts (OrtSingletonData::OrtObjects, under
// InferenceSessionWrap::InitOrtOnce) and recurses per byte of it: from about 28,000 bytes in all,
// whatever the arguments, it overflows the default 8 MiB stack and the process dies with SIGSEGV
// and no message. Upstream's to fix; here a longer command line is refused before anything
// starts, naming the argument that makes it long, and a long prompt comes from a file.
import { closeSync, openSync, readSync } from 'node:fs';
import { ROTARY_POSITION_LIMIT } from '../checkpoint/config';
import { decodeUtf8, readProblem, TextFileError, withoutBom } from '../textFile';
import { UsageError, type Values } from './args';

/**
 * Most bytes of the whole command line (node, the script and every argument, each with its NUL as
 * /proc/self/cmdline has it). Half the size that crashes, for stacks smaller than the default
 * and deeper frames in another build of onnxruntime; still far more than any option needs.
 */
export const MAX_COMMAND_LINE_BYTES = 16_384;

/** The commands whose prompt may come from --prompt-file. */
export const PROMPT_FILE_COMMANDS: ReadonlySet<string> = new Set(['generate', 'layers', 'classify', 'think']);

/** Refuses a command line longer than MAX_COMMAND_LINE_BYTES, naming its longest argument (option or prompt). */
export function checkCommandLine(argv: readonly string[], values: Values, positionals: readonly string[]): void {
  const bytes = argv.reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 0);
  if (bytes <= MAX_COMMAND_LINE_BYTES) return;
  const longest = [...positionals, ...Object.values(values).flat()].reduce<string>((a, b) => (typeof b === 'string' && b.length > a.length ? b : a), '');
  const option = Object.entries(values).find(([, v]) => v === longest || (Array.isArray(v) && v.includes(longest)))?.[0];
  const what = option === undefined ? `the prompt (${longest.length} characters)` : `--${option} (${longest.length} characters)`;
  const instead = option === undefined ? '; give a long prompt with --prompt-file FILE (or --prompt-file - to read standard input)' : '';
  throw new UsageError(`the command line is ${bytes} bytes, more than the ${MAX_COMMAND_LINE_BYTES} the engine can start with (onnxruntime-node crashes reading a longer one); the longest argument is ${what}${instead}`);
}

/**
 * Most bytes of a --prompt-file. A prompt longer than the model's context is refused, not
 * truncated (README), and no model's context is more than ROTARY_POSITION_LIMIT (131072)
 * positions: 64 bytes for each of those is far more than any prompt that fits (prose is about 4
 * bytes a token). A larger file is refused having read no more than this, before the model
 * loads: tokenizing it whole only to refuse it cost 35 s and 780 MB for 8 MB of text on
 * hdlm-tiny (2026-12-07, a loaded 2-core machine). Below the limit, promptIds refuses a text
 * known too long for the context without tokenizing it.
 */
export const MAX_PROMPT_FILE_BYTES = 64 * ROTARY_POSITION_LIMIT;

/**
 * The prompt words: the positional ones, or the text of --prompt-file (`-` reads standard input),
 * decoded strictly as UTF-8, one final line ending dropped (as the shell's "$(cat FILE)" drops it:
 * an editor ends every file with one, and a prompt ending in a newline would be another prompt).
 * A file (or input) over MAX_PROMPT_FILE_BYTES is refused naming it and the limit.
 */
export function promptArguments(values: Values, positionals: string[]): string[] {
  const file = values['prompt-file'];
  if (file === undefined) return positionals;
  if (typeof file !== 'string' || file.trim() === '') throw new UsageError('--prompt-file: name a file, or - for standard input');
  if (positionals.length > 0) throw new UsageError(`give the prompt as text or with --prompt-file, not both (got --prompt-file ${file} and ${JSON.stringify(positionals.join(' ').slice(0, 40))})`);
  const name = file === '-' ? 'standard input' : file;
  let bytes: Buffer | undefined;
  try {
    bytes = readUpTo(file, MAX_PROMPT_FILE_BYTES);
    if (bytes === undefined) throw new UsageError(`--prompt-file ${name}: more than ${MAX_PROMPT_FILE_BYTES.toLocaleString('en-US')} bytes, the most a prompt file may hold (a prompt longer than the model's context is refused, and no context is longer than ${ROTARY_POSITION_LIMIT} positions)`);
    return [withoutBom(decodeUtf8(bytes, name)).replace(/\r?\n$/, '')];
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // A TextFileError's message names the file (and the line); a read error may not.
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'EISDIR' ? 'is a folder, not a file' : readProblem(err);
    throw new UsageError(`--prompt-file ${err instanceof TextFileError ? err.message : `${name}: ${problem}`}`);
  }
}

/**
 * The bytes of `file` (`-`: standard input), or undefined when there are more than `max`: no
 * more than max + 1 are read, however large the file or endless the input.
 */
function readUpTo(file: string, max: number): Buffer | undefined {
  const fd = file === '-' ? 0 : openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(max + 1);
    let length = 0;
    while (length < buffer.length) {
      let got: number;
      try {
        got = readSync(fd, buffer, length, buffer.length - length, null);
      } catch (err) {
        // Standard input may be non-blocking (a terminal, some pipes): wait for it, as readFileSync does not.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (got === 0) break;
      length += got;
    }
    return length > max ? undefined : buffer.subarray(0, length);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}
