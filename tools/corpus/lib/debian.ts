// Finding and reading the Debian packages the corpus is made from. The builder installs
// nothing: it asks dpkg what is installed and which files a package owns, so a missing package
// or a changed file layout stops the build with the path, the package and the apt-get line.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_LISTS_DESCRIPTION, isDefaultDebianList } from '../../data/lib/aptLists';

/** A missing package or file: the builder prints the message alone, without a stack. */
export class SourceError extends Error {
  override name = 'SourceError';
}

function run(command: string, args: readonly string[]): string | null {
  try {
    return execFileSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return null;
  }
}

/** The installed version of a package, or null when it is not installed. */
export function installedVersion(pkg: string): string | null {
  const out = run('dpkg-query', ['-W', '-f=${Status}\t${Version}', pkg]);
  if (out === null) return null;
  const [status, version] = out.split('\t');
  return status === 'install ok installed' && version ? version : null;
}

/** Versions of all the packages; throws one error naming every missing one and the fix. */
export function requirePackages(pkgs: readonly string[]): Record<string, string> {
  const versions: Record<string, string> = {};
  const missing: string[] = [];
  for (const pkg of pkgs) {
    const version = installedVersion(pkg);
    if (version === null) missing.push(pkg);
    else versions[pkg] = version;
  }
  if (missing.length > 0) {
    throw new SourceError(
      `missing Debian package${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}\n` +
        `install with: apt-get update && apt-get install --no-install-recommends ${missing.join(' ')}`,
    );
  }
  return versions;
}

/**
 * The regular files a package installed, sorted so that every run reads them in one order.
 * Symbolic links are left out: they are aliases (man pages for a second function name) whose
 * text the real file already gives.
 */
export function packageFiles(pkg: string): string[] {
  const out = run('dpkg-query', ['-L', pkg]);
  if (out === null) throw new SourceError(`dpkg-query -L ${pkg} failed; is ${pkg} installed?`);
  return out
    .split('\n')
    .filter((path) => path.startsWith('/') && existsSync(path) && lstatSync(path).isFile())
    .sort();
}

/** Files of a package under a folder that match a pattern; none is a changed layout. */
export function packageFilesUnder(pkg: string, folder: string, pattern: RegExp): string[] {
  const found = packageFiles(pkg).filter((path) => path.startsWith(folder) && pattern.test(path));
  if (found.length === 0) {
    throw new SourceError(`no files matching ${pattern} under ${folder} in package ${pkg}: has its layout changed?`);
  }
  return found;
}

/** A package's file as text, gunzipped when it ends in .gz or .dz (dictzip is gzip). */
export function readPackageFile(path: string, pkg: string): string {
  if (!existsSync(path)) throw new SourceError(`${path} not found; it should come from the Debian package ${pkg}`);
  const bytes = readFileSync(path);
  return (/\.(gz|dz)$/.test(path) ? gunzipSync(bytes) : bytes).toString('utf8');
}

const APT_HELPER = '/usr/lib/apt/apt-helper';

/**
 * The English package-description indexes apt has downloaded (after `apt-get update -o
 * Acquire::Languages=en`), of Debian's own archive and its default suites only, the lists the
 * package-description datasets read too (tools/data/lib/aptLists.ts): backports or a
 * third-party repository would change the corpus with whatever else the machine has configured.
 */
export function translationIndexes(): string[] {
  const out = run('apt-get', [
    'indextargets', '-o', 'Acquire::Languages=en', '--format', '$(FILENAME)', 'Identifier: Translations', 'Language: en',
  ]);
  const files = (out ?? '').split('\n').filter((path) => path !== '' && existsSync(path) && isDefaultDebianList(basename(path))).sort();
  if (files.length === 0) {
    throw new SourceError(
      `no English package descriptions (Translation-en) of ${DEFAULT_LISTS_DESCRIPTION} in /var/lib/apt/lists\n` +
        'fetch them with: apt-get update -o Acquire::Languages=en',
    );
  }
  return files;
}

/** An apt list file's bytes; apt's helper undoes whichever compression apt chose (lz4 here). */
export function readAptList(path: string): Buffer {
  if (!existsSync(APT_HELPER)) throw new SourceError(`${APT_HELPER} not found (Debian package apt); cannot read ${path}`);
  try {
    return execFileSync(APT_HELPER, ['cat-file', path], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    throw new SourceError(`${APT_HELPER} cat-file ${path} failed`);
  }
}
