// The HdLM heads and the flat baseline against the text baselines, example by example (issue 5:
// "both beat a TF-IDF + logistic-regression baseline per level"): per level, the examples one
// side gets right and the other wrong, with an exact McNemar test.
//   node out/tools/probe/pairedBaselines.js --baselines FILE --heads FILE [--dataset wordnet] [--out FILE]
// --baselines: `baselines.js --predictions FILE`; --heads: `hdlm eval --predictions FILE` on the
// same test file. Examples are matched by id, and their gold labels must agree.
import { parseArgs } from 'node:util';
import { describeDifference } from '../../engine/src/hdlm/metrics';
import { comparePredictions, isBaseline, isHeads, pairPredictions, readLines } from './lib/paired';
import { writeJson } from './lib/report';

function main(): void {
  const { values } = parseArgs({ options: { baselines: { type: 'string' }, heads: { type: 'string' }, dataset: { type: 'string', default: 'wordnet' }, out: { type: 'string' } } });
  if (!values.baselines || !values.heads) throw new Error('usage: pairedBaselines.js --baselines FILE --heads FILE [--dataset wordnet] [--out FILE]');
  const files = { baselines: values.baselines, heads: values.heads };
  const baselines = readLines(files.baselines, isBaseline).filter((b) => b.dataset === values.dataset);
  if (baselines.length === 0) throw new Error(`${files.baselines} has no ${values.dataset} items`);
  const comparisons = comparePredictions(pairPredictions(baselines, readLines(files.heads, isHeads), files));
  const pct = (x: number): string => (x * 100).toFixed(2);
  console.log(`${values.dataset} test, ${baselines.length} examples; minus the baseline, paired (right by one only, variant against baseline):`);
  for (const c of comparisons) {
    console.log(`  ${c.variant} vs ${c.baseline} level ${c.level}  ${pct(c.accuracy.variant)} vs ${pct(c.accuracy.baseline)}: ${describeDifference(c.difference)}`);
  }
  if (values.out) writeJson(values.out, { files, dataset: values.dataset, examples: baselines.length, comparisons });
}

try {
  main();
} catch (err) {
  console.error(`pairedBaselines: ${(err as Error).message}`);
  process.exit(1);
}
