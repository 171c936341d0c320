// `hdlm layers`: what every layer would say next (logit lens through the model's own head).
import { readoutAllLayers } from '../../model/readout';
import { integer, Values } from '../args';
import { printTable } from '../table';
import { openModel, promptIds, promptInput } from './modelSession';

export async function layersCommand(values: Values, positionals: string[], signal: AbortSignal): Promise<void> {
  const input = promptInput(values, positionals);
  const topK = integer(values, 'top', 5, 1);
  const loaded = await openModel(values, []);
  try {
    const ids = promptIds(loaded, input);
    const readouts = await readoutAllLayers(loaded.model, ids, { topK, signal });
    const name = (id: number): string => JSON.stringify(loaded.tokenizer?.decode([id]) ?? String(id));
    if (values['json']) {
      console.log(JSON.stringify(readouts.map((r) => ({ layer: r.layer, top: r.top.map((t) => ({ ...t, text: loaded.tokenizer?.decode([t.id]) })) })), null, 2));
      return;
    }
    printTable(readouts.map((r) => [`layer ${r.layer}`, r.top.map((t) => `${name(t.id)} ${(t.probability * 100).toFixed(1)}%`).join('  ')]));
  } finally {
    await loaded.release();
  }
}
