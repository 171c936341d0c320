// Command-line parsing shared by the `hdlm` commands: node's parseArgs with typed getters whose
// errors name the option, and the defaults every command shares (device, threads, model).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, ParseArgsConfig } from 'node:util';
import { isExecutionProvider } from '../runtime/devices';
import { capThreads } from '../runtime/threads';
import type { ExecutionProvider } from '../runtime/ort';
import { HEAD_PRECISIONS, isHeadPrecision, type HeadPrecision } from '../arch/head';
import { missingConfigReason } from '../checkpoint/modelFolder';
import { defaultModelDir } from '../defaults';
import { DEFAULT_BEAM, resolveBeam, type HierarchyBeam } from '../hdlm/classifier';
import type { TaskDefinition } from '../hdlm/taskFile';
import { errorMessage } from '../errorMessage';

export { defaultModelDir, defaultTaskFile, defaultThoughtTaskFile } from '../defaults';

export class UsageError extends Error {}

/** Exit status of every command-line tool here for a UsageError (misuse), as getopt-style tools do; 1 is a failure. */
export const USAGE_EXIT_CODE = 2;

export type Values = Record<string, string | boolean | string[] | undefined>;

export const COMMON_OPTIONS = {
  device: { type: 'string' },
  threads: { type: 'string' },
  model: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Strict parse of `options` plus the shared ones (`common`: all of COMMON_OPTIONS unless a tool takes fewer). */
export function parse(argv: string[], options: ParseArgsConfig['options'], common: ParseArgsConfig['options'] = COMMON_OPTIONS): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...common, ...options }, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
}

/**
 * The arguments of a command that takes no prompt: a task command's one argument is its task
 * (`hdlm train my.hdlm.json`, as `--task my.hdlm.json`); anything more, or any argument to a
 * command without a task, is refused. Ignored, it would run the shipped task in its place.
 */
export function withTaskArgument(command: string, values: Values, positionals: readonly string[], takesTask: boolean): Values {
  if (positionals.length === 0) return values;
  if (!takesTask) throw new UsageError(`${command} takes no argument, got ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
  if (positionals.length > 1) throw new UsageError(`${command}: one task file, got ${positionals.length} arguments: ${positionals.join(' ')}`);
  if (values['task'] !== undefined) throw new UsageError(`${command}: the task is given twice, --task ${String(values['task'])} and ${positionals[0]}`);
  return { ...values, task: positionals[0] };
}

export function providers(values: Values): ExecutionProvider[] {
  const list = typeof values['device'] === 'string' ? values['device'] : 'cpu';
  const names = list.split(',').map((s) => s.trim());
  const bad = names.filter((n) => !isExecutionProvider(n));
  if (bad.length > 0) throw new UsageError(`--device: unknown device ${bad.join(', ')} (use webgpu, cuda, cpu)`);
  return names as ExecutionProvider[];
}

/**
 * `--threads N` (0 or absent: onnxruntime decides), capped at the machine's cores (capThreads)
 * with a notice on stderr: a command asked for more runs as the server would, not for minutes.
 */
export function threadsOption(values: Values): number {
  const { threads, notice } = capThreads(integer(values, 'threads', 0), '--threads');
  if (notice !== undefined) console.error(`hdlm: ${notice}`);
  return threads;
}

/** `--head-precision`: how the model's own head multiplies (arch/head.ts); fp32 unless asked. */
export function headPrecision(values: Values): HeadPrecision {
  const raw = values['head-precision'] ?? 'fp32';
  if (!isHeadPrecision(raw)) throw new UsageError(`--head-precision: use ${HEAD_PRECISIONS.join(' or ')}, got ${JSON.stringify(raw)}`);
  return raw;
}

/** An option's text, refused when blank: an empty value (`--max-tokens ''`) is a slip, not a zero. */
function optionText(values: Values, name: string): string | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw.trim() === '') throw new UsageError(`--${name}: give a value`);
  return raw.trim();
}

/** Plain decimal digits only: Number() would also read '0x10', '1e3' and '' as whole numbers. */
const WHOLE = /^\d+$/;
/** A decimal number, with a sign and an exponent if need be (a learning rate of 1e-3); no hex, no Infinity. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function integer(values: Values, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = optionText(values, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  const bound = max < Number.MAX_SAFE_INTEGER ? ` and ≤ ${max}` : '';
  if (!WHOLE.test(raw) || n < min || n > max) throw new UsageError(`--${name} must be a whole number ≥ ${min}${bound}, got ${raw}`);
  return n;
}

export function number(values: Values, name: string, fallback: number): number {
  const raw = optionText(values, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!DECIMAL.test(raw) || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got ${raw}`);
  return n;
}

/** --beam B and --beam-margin M (the hierarchy beam of classify and eval), DEFAULT_BEAM where absent. */
export function hierarchyBeam(values: Values): HierarchyBeam {
  const asked = { beam: integer(values, 'beam', DEFAULT_BEAM.beam, 1), margin: number(values, 'beam-margin', DEFAULT_BEAM.margin) };
  try {
    return resolveBeam(asked);
  } catch (err) {
    throw new UsageError(`--beam / --beam-margin: ${(err as Error).message}`);
  }
}

/** `--name 1,2,3`: whole numbers, none of them blank (`1,,2` is a slip, not a 0). */
export function integerList(values: Values, name: string): number[] | undefined {
  const raw = optionText(values, name);
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim());
  const bad = parts.find((p) => !WHOLE.test(p) || !Number.isSafeInteger(Number(p)));
  if (bad !== undefined) throw new UsageError(`--${name} must be comma-separated whole numbers, got ${JSON.stringify(raw)} (${bad === '' ? 'an empty item' : JSON.stringify(bad)})`);
  return parts.map(Number);
}

/**
 * The model folder that a task's `"model": "default"` stands for: --model when given (a task runs
 * on another checkpoint without editing its file), else the shipped one. A task that names its
 * own model refuses --model rather than ignoring it.
 */
export function taskModelDir(values: Values, task: Pick<TaskDefinition, 'model' | 'path'>): string {
  if (values['model'] === undefined) return defaultModelDir();
  if (task.model !== 'default') throw new UsageError(`--model: ${task.path} names its own model (${task.model}); --model applies to tasks whose "model" is "default"`);
  return modelDir(values);
}

export function modelDir(values: Values): string {
  const dir = typeof values['model'] === 'string' ? resolve(values['model']) : defaultModelDir();
  if (!existsSync(join(dir, 'config.json'))) {
    throw new UsageError(values['model'] ? `--model ${dir}: ${missingConfigReason(dir) ?? 'no config.json there'}` : `no default model at ${dir}; pass --model <Hugging Face folder>`);
  }
  return dir;
}
