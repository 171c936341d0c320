// A task file's levels as the task panel and the layer scan read and write them, without
// `vscode` (unit-tested). A level is an object `{ "layer": 4 }` or, as the engine also accepts
// (engine/src/hdlm/taskFile.ts), a bare layer `4` or `"last"`: both are read, and both are
// rewritten in place so that the file's other text and its comments stay.
import type { FormattingOptions } from 'jsonc-parser';
import { taskNodeAt, taskTree, withTaskValue } from '../../engine/src/hdlm/taskFile';

export type LevelLayer = number | 'last';

/**
 * A level's layer as the file has it; null when it names none (no `layer` key, or a value that is
 * neither a number nor "last"). The task panel shows null as "no layer set" (the file's
 * diagnostics say what to write); null, not NaN or undefined, because the state goes to the
 * webview as JSON, where NaN and a missing array entry both arrive as null anyway.
 */
export type LevelSetting = LevelLayer | null;

const FORMAT: FormattingOptions = { insertSpaces: true, tabSize: 2 };

/** A level's layer: `{ "layer": 4 }` or a bare `4` / `"last"`; null when it names none. */
export function levelLayer(level: unknown): LevelSetting {
  const layer = typeof level === 'object' && level !== null ? (level as { layer?: unknown }).layer : level;
  return layer === 'last' ? 'last' : typeof layer === 'number' && Number.isFinite(layer) ? layer : null;
}

/**
 * Why `layer` cannot be written as level `level`'s layer ('' when it can): a whole number ≥ 1 or
 * "last", as the engine reads it (engine/src/hdlm/taskFile.ts). The panel's pickers and the
 * `hdlm.setLevelLayer` command (scripts, keybindings) go through it, so that nothing writes NaN,
 * null or a fraction into a task file.
 */
export function layerProblem(level: unknown, layer: unknown): string {
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 1) return `the level must be a whole number ≥ 1 (1 is the first), got ${shown(level)}`;
  if (layer === 'last' || (typeof layer === 'number' && Number.isInteger(layer) && layer >= 1)) return '';
  return `levels[${level - 1}].layer must be a whole number ≥ 1 or "last", got ${shown(layer)}`;
}

/** A value as the message names it: NaN as NaN (JSON would say null), nothing as none. */
function shown(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? 'none');
}

/** The layers of a parsed task file's `levels` (none when it has no list). */
export function levelLayers(raw: unknown): LevelSetting[] {
  const levels = typeof raw === 'object' && raw !== null ? (raw as { levels?: unknown }).levels : undefined;
  return Array.isArray(levels) ? levels.map(levelLayer) : [];
}

/**
 * The text with each level (1-based) of `layers` set: `levels[i].layer` for a level written as an
 * object, the level itself for a bare one (jsonc-parser cannot add a key to a number). Written
 * where the engine reads (withTaskValue): into the last `levels` or `layer` of a file that gives
 * one twice, a byte order mark and comments kept.
 */
export function withLevelLayers(text: string, layers: ReadonlyMap<number, LevelLayer>): string {
  for (const [level, layer] of layers) {
    const node = taskNodeAt(taskTree(text), ['levels', level - 1]);
    const path = node?.type === 'object' ? ['levels', level - 1, 'layer'] : ['levels', level - 1];
    text = withTaskValue(text, path, layer, FORMAT);
  }
  return text;
}
