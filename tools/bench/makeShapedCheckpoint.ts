// Writes a random-weight checkpoint with Qwen2.5-0.5B's exact shapes to a folder.
//   node out/tools/bench/makeShapedCheckpoint.js <dir>
import { makeShapedCheckpoint } from './lib/shapedCheckpoint';

const dir = process.argv[2];
if (!dir || dir.startsWith('-')) {
  console.error('usage: makeShapedCheckpoint <dir>');
  process.exit(2);
}
const start = Date.now();
makeShapedCheckpoint(dir);
console.log(`wrote ${dir} in ${((Date.now() - start) / 1000).toFixed(1)} s`);
