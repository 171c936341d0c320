// A stand-in for SegmentedModel whose head says a fixed token sequence, one token per step, so
// that generate() and thoughtThenAnswer() run their own logic (stopping, streaming, budgets,
// bridges) on outputs chosen by the test; and tokenizers derived from the shipped one.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ContextOverflowError } from '../../engine/src/model/contextOverflow';
import type { SegmentedModel } from '../../engine/src/model/segmentedModel';
import { Tokenizer } from '../../engine/src/tokenizer';

export interface ScriptedModel {
  model: SegmentedModel;
  /** Every id appended to row 0's state, prompt included, in order. */
  appended: number[];
}

/** Says `script[i]` at step i (its last token after that); the context holds `maxPositions`. */
export function scriptedModel(script: readonly number[], options: { vocab?: number; maxPositions?: number; layers?: number } = {}): ScriptedModel {
  const vocab = options.vocab ?? 4096;
  const maxPositions = options.maxPositions ?? 1024;
  let step = 0;
  const appended: number[] = [];
  const head = {
    vocabSize: vocab,
    logits: (hidden: Float32Array): Promise<Float32Array> => {
      const logits = new Float32Array(vocab * hidden.length).fill(-10);
      for (let b = 0; b < hidden.length; b++) logits[b * vocab + script[Math.min(step, script.length - 1)]!] = 10;
      step++;
      return Promise.resolve(logits);
    },
  };
  const model = {
    config: { numLayers: options.layers ?? 8, maxPositions, maxPositionsFrom: 'max_position_embeddings', eosTokenIds: [] as number[] },
    ownHead: head,
    headCall: <T>(work: () => Promise<T>): Promise<T> => work(),
    newState: (batch = 1) => ({ batch, length: 0, segments: [], release: () => undefined }),
    append: (state: { length: number }, rows: number[][]) => {
      const width = Math.max(...rows.map((r) => r.length));
      if (state.length + width > maxPositions) throw new ContextOverflowError(state.length + width, { maxPositions, maxPositionsFrom: 'max_position_embeddings' });
      appended.push(...rows[0]!);
      state.length += width;
      return width;
    },
    // One hidden value per row: the head reads the batch from its length.
    runToNewest: (state: { batch: number }) => Promise.resolve(new Float32Array(state.batch)),
  };
  return { model: model as unknown as SegmentedModel, appended };
}

// Tests are bundled one file each, so __dirname is the test's own folder (out/test/unit/<dir>).
const SHIPPED = resolve(__dirname, '..', '..', '..', '..', 'models', 'hdlm-tiny');

/**
 * The shipped tokenizer, changed: `keepAdded` lists the added tokens left (all by default: without
 * the role tokens it has the plain-text format, as Qwen, Llama and GPT-2 tokenizers do), `config`
 * overrides tokenizer_config.json fields (clean_up_tokenization_spaces).
 */
export async function shippedTokenizerVariant(change: { keepAdded?: (content: string) => boolean; config?: Record<string, unknown> }): Promise<Tokenizer> {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-tokenizer-'));
  const json = JSON.parse(readFileSync(join(SHIPPED, 'tokenizer.json'), 'utf8')) as { added_tokens: { content: string }[]; model: { vocab: Record<string, number> } };
  if (change.keepAdded) {
    // The shipped vocabulary lists its added tokens too: a dropped one goes from both.
    for (const t of json.added_tokens) if (!change.keepAdded(t.content)) delete json.model.vocab[t.content];
    json.added_tokens = json.added_tokens.filter((t) => change.keepAdded!(t.content));
  }
  const config = { ...(JSON.parse(readFileSync(join(SHIPPED, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>), ...change.config };
  if (change.keepAdded) delete config['added_tokens_decoder'];
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return Tokenizer.load(dir);
}
