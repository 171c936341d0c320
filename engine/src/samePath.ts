// Whether two paths name one file, as the platform's file system compares names. Windows and
// macOS (by default) ignore case: `C:\work\my.hdlm.json` typed in a setting and `c:\work\my.hdlm.json`
// from a VS Code URI (which lowers the drive letter) are one task file, and a save of it must
// reopen the session at once. Decided without the disk: the file need not exist.
import { posix, win32 } from 'node:path';

/** The path as this platform's file names compare: resolved, and in one case where case does not count. */
export function pathKey(path: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return win32.resolve(path).toLowerCase();
  const resolved = posix.resolve(path);
  return platform === 'darwin' ? resolved.toLowerCase() : resolved;
}

export function samePath(a: string, b: string, platform: NodeJS.Platform = process.platform): boolean {
  return pathKey(a, platform) === pathKey(b, platform);
}
