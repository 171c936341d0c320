// The execution provider that the engine's device-sensitive tests run on: the CPU in CI, and
// whatever HDLM_TEST_PROVIDER names on a machine that has another (tools/gpu runs the parity and
// early-exit tests with HDLM_TEST_PROVIDER=webgpu on the GPU machine). The same assertions hold
// on every provider; a provider that cannot start fails the test instead of falling back.
import { isExecutionProvider } from '../../engine/src/runtime/devices';
import type { ExecutionProvider } from '../../engine/src/runtime/ort';

function fromEnvironment(): ExecutionProvider {
  const name = process.env['HDLM_TEST_PROVIDER'] ?? 'cpu';
  if (!isExecutionProvider(name)) throw new Error(`HDLM_TEST_PROVIDER=${name}: use cpu, webgpu or cuda`);
  return name;
}

export const TEST_PROVIDER: ExecutionProvider = fromEnvironment();
