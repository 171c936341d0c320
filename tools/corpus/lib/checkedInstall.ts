// Installing generated files into a folder only after they pass a check. trainTokenizer's
// default output is the shipped model folder, whose tokenizer.json must match the shipped
// weights: a tokenizer that fails its round-trip check must not replace it even for a moment.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncFolder, writeDurably } from '../../../engine/src/atomicFile';

/**
 * Writes `files` (name → contents) to a scratch folder and runs `check` on that folder. Only when
 * `passes` says so are they written into `outDir`, each through `<name>.partial` and a rename.
 * Returns the check's result and whether the files were installed.
 */
export async function installChecked<T>(
  outDir: string,
  files: ReadonlyMap<string, string>,
  check: (dir: string) => Promise<T>,
  passes: (result: T) => boolean,
): Promise<{ result: T; installed: boolean }> {
  const scratch = mkdtempSync(join(tmpdir(), 'hdlm-checked-'));
  try {
    for (const [name, contents] of files) writeFileSync(join(scratch, name), contents);
    const result = await check(scratch);
    if (!passes(result)) return { result, installed: false };
    mkdirSync(outDir, { recursive: true });
    // Flushed before any rename: a power cut must not leave a renamed, empty file installed.
    for (const [name, contents] of files) writeDurably(join(outDir, `${name}.partial`), [Buffer.from(contents)]);
    for (const name of files.keys()) renameSync(join(outDir, `${name}.partial`), join(outDir, name));
    syncFolder(outDir);
    return { result, installed: true };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
