// What node-gyp needs to compile code-server's native modules (test/integration/setupHost.ts),
// with the Debian package of each. tools/setup.sh installs these packages; a unit test keeps the
// two lists in step.
import { spawnSync } from 'node:child_process';

export const BUILD_TOOLS: readonly { tool: string; pkg: string }[] = [
  { tool: 'pkg-config', pkg: 'pkg-config' },
  { tool: 'krb5-config', pkg: 'libkrb5-dev' },
  { tool: 'make', pkg: 'make' },
  { tool: 'g++', pkg: 'g++' },
  { tool: 'python3', pkg: 'python3' },
];

export function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** The error for the missing tools, naming each and the apt-get line; null when none is missing. */
export function missingBuildTools(has: (tool: string) => boolean = onPath): string | null {
  const missing = BUILD_TOOLS.filter(({ tool }) => !has(tool));
  if (missing.length === 0) return null;
  const tools = missing.map((m) => m.tool).join(', ');
  return (
    `${tools} ${missing.length > 1 ? 'are' : 'is'} missing: node-gyp compiles code-server's native modules with ` +
    `${BUILD_TOOLS.map((t) => t.tool).join(', ')} (apt-get install ${missing.map((m) => m.pkg).join(' ')}, or run tools/setup.sh)`
  );
}
