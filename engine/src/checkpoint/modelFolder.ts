// What is wrong with a model folder's file, said so that the user can act: a link left dangling by
// an unfinished download (existsSync follows links and says "no such file", while readdirSync
// still lists the name), and a Hugging Face cache repo folder given in place of its snapshot.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** "<file> is a link to <target>, which does not exist (an unfinished download?)", or undefined when `path` is no dangling link. */
export function danglingLink(path: string): string | undefined {
  let isLink: boolean;
  try {
    isLink = lstatSync(path).isSymbolicLink();
  } catch {
    return undefined; // nothing there at all
  }
  if (!isLink || existsSync(path)) return undefined;
  return `${path} is a link to ${readlinkSync(path)}, which does not exist (an unfinished download?)`;
}

/**
 * Why `dir` has no readable config.json, when there is more to say than that: a dangling link,
 * or a Hugging Face cache repo folder (models--org--name, holding snapshots/ and refs/main: the
 * model is one of its snapshots), or no folder at all; undefined when there is simply none. The engine does not follow refs/main itself: which revision runs is the
 * user's to say.
 */
export function missingConfigReason(dir: string): string | undefined {
  if (!existsSync(dir)) return 'no such folder';
  const dangling = danglingLink(join(dir, 'config.json'));
  if (dangling) return dangling;
  const snapshots = join(dir, 'snapshots');
  if (existsSync(snapshots)) {
    const revisions = readdirSync(snapshots);
    let main: string | undefined;
    try {
      main = readFileSync(join(dir, 'refs', 'main'), 'utf8').trim();
    } catch {
      main = undefined;
    }
    const rev = main !== undefined && revisions.includes(main) ? main : revisions.length === 1 ? revisions[0] : undefined;
    if (rev !== undefined) return `no config.json there: this is a Hugging Face cache folder; the model is its snapshot: --model ${join(snapshots, rev)}${rev === main ? ' (the revision refs/main names)' : ''}`;
    return `no config.json there: this is a Hugging Face cache folder; pass one of its snapshots: ${revisions.length > 0 ? revisions.map((r) => join(snapshots, r)).join(', ') : '(snapshots/ is empty)'}`;
  }
  return undefined;
}
