// Where the engine keeps what it can rebuild (checkpoint fingerprints, converted graphs, cached
// features, the jobs' journal): the platform's place for caches, so that a system's cache cleaning
// and backup exclusions treat it as one.
import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';

/**
 * `$XDG_CACHE_HOME/hdlm` where that is an absolute path (on any platform: the tests and users who
 * set it choose the folder), else `%LOCALAPPDATA%\hdlm\Cache` on Windows, `~/Library/Caches/hdlm`
 * on macOS and `~/.cache/hdlm` elsewhere.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  const path = platform === 'win32' ? win32 : posix;
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'hdlm');
  if (platform === 'win32') {
    const local = env['LOCALAPPDATA'];
    return local && path.isAbsolute(local) ? path.join(local, 'hdlm', 'Cache') : path.join(home, 'AppData', 'Local', 'hdlm', 'Cache');
  }
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'hdlm');
  return path.join(home, '.cache', 'hdlm');
}

/** The engine's caches, as folders of its cache folder: converted graphs and cached features. */
export const CACHE_FOLDERS = { graphs: 'graphs', features: 'features' } as const;
