// The `hdlm.model` and `hdlm.task` values the client writes and reads, without `vscode`
// (unit-tested). The server resolves a relative setting against the first workspace folder
// (server/src/taskHost.ts `resolvePath`), so a file inside that folder is written relative to
// it and any other file as its absolute path: VS Code's asRelativePath would prefix the folder's
// name in a multi-root workspace, a path the server cannot find.
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { samePath } from '../../engine/src/samePath';

/** The setting's value for a file: relative to the first folder when inside it, else absolute. */
export function settingPath(file: string, firstFolder: string | undefined): string {
  if (firstFolder === undefined) return file;
  const inside = relative(firstFolder, file);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) return file;
  // Written with forward slashes, as asRelativePath does, so a settings file reads the same on every platform.
  return inside.split(sep).join('/');
}

/** The file a setting names, as the server resolves it. */
export function resolveSetting(setting: string, firstFolder: string | undefined): string {
  return isAbsolute(setting) || firstFolder === undefined ? resolve(setting) : resolve(firstFolder, setting);
}

/** Whether the `hdlm.task` setting names this file (never a mere suffix of its path). */
export function isSettingFor(setting: string, file: string, firstFolder: string | undefined): boolean {
  return setting !== '' && samePath(resolveSetting(setting, firstFolder), file);
}
