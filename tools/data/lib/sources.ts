// Reading source files from Debian packages and apt lists, with errors that say what is
// missing and which apt command fixes it. apt stores its lists compressed (lz4 on this Debian
// image, gz/xz/zst elsewhere); apt's own helper decompresses whatever apt can read, so we
// don't depend on one compressor.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** A missing or malformed source: the builder prints the message alone, without a stack. */
export class SourceError extends Error {
  override name = 'SourceError';
}

export const APT_HELPER = '/usr/lib/apt/apt-helper';
const APT_COMPRESSED = ['.lz4', '.xz', '.zst', '.bz2', '.lzma'];

/** Why a file is needed and how to get it, for error messages. */
export interface SourceHint {
  /** The Debian package (or apt command) that provides the file. */
  provider: string;
}

export function requireFile(path: string, hint: SourceHint): void {
  if (!existsSync(path)) throw new SourceError(`${path} not found; it comes from ${hint.provider}`);
  if (!statSync(path).isFile()) throw new SourceError(`${path} is not a regular file; expected the file that ${hint.provider} provides`);
}

/** The file's bytes, decompressed by its extension. */
export function readSourceBytes(path: string, hint: SourceHint): Buffer {
  requireFile(path, hint);
  if (path.endsWith('.gz')) return gunzipSync(readFileSync(path));
  if (!APT_COMPRESSED.some((ext) => path.endsWith(ext))) return readFileSync(path);
  if (!existsSync(APT_HELPER)) {
    throw new SourceError(`cannot decompress ${path}: ${APT_HELPER} not found (Debian package 'apt'); or pass an uncompressed copy`);
  }
  try {
    return execFileSync(APT_HELPER, ['cat-file', path], { maxBuffer: 2 ** 31 - 1, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new SourceError(`cannot decompress ${path} with ${APT_HELPER} cat-file${stderr ? `: ${stderr}` : ''}`);
  }
}
