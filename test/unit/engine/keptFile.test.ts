// The records a run keeps in a heads folder: one HdLM wrote is left for the writer to replace;
// a file of the user's by the same name (or one damaged past reading) is moved aside whole.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KEPT_FILES, setAsideForeignKeptFiles } from '../../../engine/src/hdlm/keptFile';

const dir = mkdtempSync(join(tmpdir(), 'hdlm-kept-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a layer scan or train report of HdLM\'s stays; a file of the user\'s by that name is moved aside byte for byte, and said', () => {
  const ours = { format: 'hdlm-layer-scan/1', levels: [] };
  writeFileSync(join(dir, 'layer-scan.json'), JSON.stringify(ours));
  writeFileSync(join(dir, 'train-report.json'), '[1, 2]\n');
  mkdirSync(join(dir, 'evaluation.json')); // a folder: left for the write to name
  const at = new Date('2026-12-08T01:02:03.456Z');
  const said = setAsideForeignKeptFiles(dir, [KEPT_FILES.layerScan, KEPT_FILES.trainReport, KEPT_FILES.evaluation, KEPT_FILES.history], at);
  assert.equal(said.length, 1, said.join('\n'));
  assert.match(said[0]!, /train-report\.json is not what HdLM writes there: .* moved to .*train-report\.json\.unreadable-2026-12-08T01-02-03-456Z \(kept as it was\)/);
  assert.equal(readFileSync(join(dir, 'train-report.json.unreadable-2026-12-08T01-02-03-456Z'), 'utf8'), '[1, 2]\n');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'layer-scan.json'), 'utf8')), ours);
  assert.deepEqual(readdirSync(dir).sort(), ['evaluation.json', 'layer-scan.json', 'train-report.json.unreadable-2026-12-08T01-02-03-456Z']);
});
