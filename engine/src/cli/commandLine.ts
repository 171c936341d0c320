// The length of the command line, and the prompt from a file instead. onnxruntime-node reads the
// process's command line when its first session starts (OrtSingletonData::OrtObjects, under
// InferenceSessionWrap::InitOrtOnce) and recurses per byte of it: from about 28,000 bytes in all,
// whatever the arguments, it overflows the default 8 MiB stack and the process dies with SIGSEGV
// and no message. Upstream's to fix; here a longer command line is refused before anything
// starts, naming the argument that makes it long, and a long prompt comes from a file.
import { readFileSync } from 'node:fs';
import { decodeUtf8, readProblem, readTextFile, TextFileError, withoutBom } from '../textFile';
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
 * The prompt words: the positional ones, or the text of --prompt-file (`-` reads standard input),
 * decoded strictly as UTF-8, one final line ending dropped (as the shell's "$(cat FILE)" drops it:
 * an editor ends every file with one, and a prompt ending in a newline would be another prompt).
 */
export function promptArguments(values: Values, positionals: string[]): string[] {
  const file = values['prompt-file'];
  if (file === undefined) return positionals;
  if (typeof file !== 'string' || file.trim() === '') throw new UsageError('--prompt-file: name a file, or - for standard input');
  if (positionals.length > 0) throw new UsageError(`give the prompt as text or with --prompt-file, not both (got --prompt-file ${file} and ${JSON.stringify(positionals.join(' ').slice(0, 40))})`);
  try {
    const text = file === '-' ? withoutBom(decodeUtf8(readFileSync(0), 'standard input')) : readTextFile(file);
    return [text.replace(/\r?\n$/, '')];
  } catch (err) {
    // A TextFileError's message names the file (and the line); standard input's read error does not.
    throw new UsageError(`--prompt-file ${err instanceof TextFileError ? err.message : `${file}: ${readProblem(err)}`}`);
  }
}
