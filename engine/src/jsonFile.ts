// JSON files of a model folder (config.json, generation_config.json, tokenizer.json,
// model.safetensors.index.json) read one way: through readTextFile (a byte order mark is
// dropped, a folder is named), with a syntax error given by line and column, as task files
// give theirs, instead of JSON.parse's character position. Also the nesting limit task files
// are held to, here so that the engine and the editor's diagnostics apply the same one.
import { createScanner, parse, printParseErrorCode, SyntaxKind, type ParseError, type ParseErrorCode } from 'jsonc-parser';
import { readProblem, readTextFile } from './textFile';

/** "3, column 5" for an offset into `text` (both 1-based). */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}, column ${before.at(-1)!.length + 1}`;
}

/** "property name expected" for jsonc-parser's PropertyNameExpected: the words every syntax error is given in, by the CLI and the editor. */
export function jsonErrorWords(code: ParseErrorCode): string {
  return printParseErrorCode(code).replace(/(?<=[a-z])(?=[A-Z])/g, ' ').toLowerCase();
}

/**
 * The one wording of a JSON syntax error, for every JSON file the project reads (task files,
 * model folder files, head manifests, a safetensors header, a dataset's lines): the place first,
 * as compilers and the editor's problem list give it, then what is wrong: "line 3, column 5: not
 * valid JSON: comma expected", after the file's name. Without `place` (a dataset line, whose line
 * its caller names; an editor diagnostic, placed by its range) only "not valid JSON: reason".
 */
export function notValidJson(reason: string, place?: { text: string; offset: number }): string {
  return `${place ? `line ${lineColumn(place.text, place.offset)}: ` : ''}not valid JSON: ${reason}`;
}

/**
 * Deepest nesting of brackets and braces a task file may have. Real ones nest four deep; the
 * JSON parser recurses once per level, so a file nested a hundred thousand deep would overflow
 * the stack in every feature that parses it.
 */
export const MAX_TASK_NESTING = 256;

/** Why a file that tooDeepAt stops at is refused (without the place, which each caller gives its own way). */
export const TOO_DEEP = `too deeply nested: more than ${MAX_TASK_NESTING} levels of brackets and braces (a task file nests a few)`;

/** The offset of the first bracket or brace nested deeper than MAX_TASK_NESTING, or undefined (a scan, not a recursion). */
export function tooDeepAt(text: string): number | undefined {
  const scanner = createScanner(text, false);
  let depth = 0;
  for (let token = scanner.scan(); token !== SyntaxKind.EOF; token = scanner.scan()) {
    if (token === SyntaxKind.OpenBraceToken || token === SyntaxKind.OpenBracketToken) {
      if (++depth > MAX_TASK_NESTING) return scanner.getTokenOffset();
    } else if (token === SyntaxKind.CloseBraceToken || token === SyntaxKind.CloseBracketToken) {
      depth--;
    }
  }
  return undefined;
}

/** Strict JSON, as JSON.parse reads it: no comments, no trailing commas. */
const STRICT = { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false } as const;

/** `text` as JSON; a syntax error names `path`, the line and the column. */
export function parseJsonText(text: string, path: string): unknown {
  try {
    // JSON.parse first: it is several times faster on a tokenizer.json of megabytes.
    return JSON.parse(text);
  } catch (err) {
    // Only to locate the error: jsonc-parser reports an offset where JSON.parse's message has a
    // character position at best. Should it find nothing, JSON.parse's own message stands.
    const errors: ParseError[] = [];
    parse(text, errors, STRICT);
    const first = errors[0];
    const problem = first ? notValidJson(jsonErrorWords(first.error), { text, offset: first.offset }) : notValidJson((err as Error).message);
    throw new Error(`${path}: ${problem}`, { cause: err });
  }
}

/** A file holding one JSON object; errors name the file (and line and column for syntax). */
export function readJsonObject(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readTextFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read: ${readProblem(err)}`, { cause: err });
  }
  const value = parseJsonText(text, path);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}: not a JSON object`);
  return value as Record<string, unknown>;
}
