// A path a task file names (a dataset) may point at a named pipe or a device: readTextFile refuses
// anything but a regular file, by name, without blocking on the open (a pipe with no writer) and
// without reading for ever (/dev/zero reports size 0 and never ends).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readDatasetText } from '../../../engine/src/hdlm/dataset/readDataset';
import { readTextFile, TextFileError } from '../../../engine/src/textFile';

const work = mkdtempSync(join(tmpdir(), 'hdlm-regular-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A FIFO in the temporary folder (mkfifo: Linux and macOS). */
function fifo(name: string): string {
  const path = join(work, name);
  assert.equal(spawnSync('mkfifo', [path]).status, 0, 'mkfifo');
  return path;
}

/**
 * Runs `read` on a FIFO. A reader that blocked on it would block this thread for good, so a writer
 * opens the FIFO after 3 s and closes it: the blocked reader then gets an empty file, and the test
 * fails on the time taken and on the missing refusal instead of hanging.
 */
function readFifo<T>(path: string, read: () => T): { took: number; result: T | unknown } {
  const writer = spawn('sh', ['-c', 'sleep 3; : > "$0"', path], { stdio: 'ignore' });
  const start = Date.now();
  try {
    let result: T | unknown;
    try {
      result = read();
    } catch (err) {
      result = err;
    }
    return { took: Date.now() - start, result };
  } finally {
    writer.kill();
  }
}

test('a FIFO is refused by name at once, not waited on', { skip: process.platform === 'win32' && 'no FIFOs here' }, () => {
  const path = fifo('data.jsonl');
  const { took, result } = readFifo(path, () => readTextFile(path));
  assert.ok(took < 2000, `refused in ${took} ms, without waiting for a writer`);
  assert.ok(result instanceof TextFileError, `refused, not read: ${String(result)}`);
  assert.equal(result.message, `${path}: not a regular file (a FIFO (named pipe))`);
  const dataset = readFifo(path, () => readDatasetText(path));
  assert.ok(dataset.took < 2000, `the dataset reader refused it in ${dataset.took} ms`);
  assert.match(String(dataset.result), /not a regular file \(a FIFO \(named pipe\)\)/);
});

test('a device is refused by name, not read for ever', { skip: process.platform === 'win32' && 'no /dev/zero here' }, () => {
  assert.throws(() => readTextFile('/dev/zero'), (err) => err instanceof TextFileError && err.message === '/dev/zero: not a regular file (a device)');
});

test('a folder is still named as one', () => {
  assert.throws(() => readTextFile(work), (err) => err instanceof TextFileError && err.message === `${work}: is a folder, not a file`);
});
