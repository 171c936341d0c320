// Summary of a learning-rate sweep (tools/heads/lrSweep.sh): for each OUT/lr<rate>/heads, every
// head's best dev token accuracy (the criterion its own early stopping uses), their mean, and the
// dev table of both variants from evaluation.json. The protocol picks one rate for all heads, the
// flat baseline included: the highest mean best dev token accuracy. Dev joint path is printed
// beside it but chooses nothing, since choosing by the comparison would tilt the comparison.
//
//   node tools/heads/sweepSummary.mjs /tmp/sweep [--json]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [out, flag] = process.argv.slice(2);
if (!out) {
  console.error('usage: sweepSummary.mjs OUT_DIR [--json]');
  process.exit(2);
}

/** One row per rate that has a training report; its dev evaluation when there is one. */
function readRuns(dir) {
  const runs = [];
  for (const name of readdirSync(dir).filter((n) => /^lr[0-9.e-]+$/.test(n))) {
    const heads = join(dir, name, 'heads');
    const reportFile = join(heads, 'train-report.json');
    if (!existsSync(reportFile)) continue;
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    const evalFile = join(heads, 'evaluation.json');
    const evaluation = existsSync(evalFile) ? JSON.parse(readFileSync(evalFile, 'utf8')) : undefined;
    const accuracy = Object.fromEntries(report.heads.map((h) => [h.name, h.bestDevAccuracy]));
    const epochs = Object.fromEntries(report.heads.map((h) => [h.name, `${h.bestEpoch}/${h.epochs.length}`]));
    const mean = report.heads.reduce((a, h) => a + h.bestDevAccuracy, 0) / report.heads.length;
    const joint = Object.fromEntries((evaluation?.variants ?? []).map((v) => [v.name, v.jointAccuracy]));
    const seconds = report.seconds.features + report.seconds.training;
    runs.push({ lr: Number(name.slice(2)), accuracy, epochs, mean, joint, seconds, devFile: evaluation?.file });
  }
  return runs.sort((a, b) => b.lr - a.lr);
}

const pct = (x, digits = 2) => (x === undefined ? '–' : (x * 100).toFixed(digits));
const runs = readRuns(out);
if (runs.length === 0) {
  console.error(`sweepSummary: no OUT/lr<rate>/heads/train-report.json under ${out}`);
  process.exit(1);
}
const chosen = runs.reduce((best, r) => (r.mean > best.mean ? r : best));
if (flag === '--json') {
  console.log(JSON.stringify({ runs, chosen: chosen.lr }, null, 2));
  process.exit(0);
}
const names = Object.keys(runs[0].accuracy);
const header = ['lr', ...names.map((n) => `${n} (best/ran)`), 'mean', 'dev joint hdlm', 'dev joint flat', 'train s'];
const rows = runs.map((r) => [
  String(r.lr),
  ...names.map((n) => `${pct(r.accuracy[n], 3)} (${r.epochs[n]})`),
  pct(r.mean, 3),
  pct(r.joint.hdlm, 1),
  pct(r.joint.flat, 1),
  r.seconds.toFixed(0),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log('best dev token accuracy per head, % (best epoch / epochs run); dev joint path, %');
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log(`chosen for every head (highest mean best dev token accuracy): lr ${chosen.lr}`);
