// A task file's levels as the task panel and the layer scan read and write them, without
// `vscode` (unit-tested). A level is an object `{ "layer": 4 }` or, as the engine also accepts
// (engine/src/hdlm/taskFile.ts), a bare layer `4` or `"last"`: both are read, and both are
// rewritten in place so that the file's other text and its comments stay.
import { applyEdits, findNodeAtLocation, modify, parseTree, type FormattingOptions } from 'jsonc-parser';

export type LevelLayer = number | 'last';

const FORMAT: FormattingOptions = { insertSpaces: true, tabSize: 2 };

/** A level's layer: `{ "layer": 4 }` or a bare `4` / `"last"`; NaN when it names none. */
export function levelLayer(level: unknown): LevelLayer {
  const layer = typeof level === 'object' && level !== null ? (level as { layer?: unknown }).layer : level;
  return layer === 'last' ? 'last' : typeof layer === 'number' ? layer : NaN;
}

/** The layers of a parsed task file's `levels` (none when it has no list). */
export function levelLayers(raw: unknown): LevelLayer[] {
  const levels = typeof raw === 'object' && raw !== null ? (raw as { levels?: unknown }).levels : undefined;
  return Array.isArray(levels) ? levels.map(levelLayer) : [];
}

/**
 * The text with each level (1-based) of `layers` set: `levels[i].layer` for a level written as an
 * object, the level itself for a bare one (jsonc-parser cannot add a key to a number).
 */
export function withLevelLayers(text: string, layers: ReadonlyMap<number, LevelLayer>): string {
  for (const [level, layer] of layers) {
    const root = parseTree(text);
    const node = root && findNodeAtLocation(root, ['levels', level - 1]);
    const path = node?.type === 'object' ? ['levels', level - 1, 'layer'] : ['levels', level - 1];
    text = applyEdits(text, modify(text, path, layer, { formattingOptions: FORMAT }));
  }
  return text;
}
