// Picks the execution provider: tries the configured order and falls back to the CPU, always
// saying why. onnxruntime-node does not fall back by itself (a session asked for 'webgpu' with
// no adapter throws), so every candidate is proven by building and running a probe graph.
import { ExecutionProvider, listBackends, Session } from './ort';
import { buildProbeGraph, runProbe } from './probe';
import { errorMessage } from '../errorMessage';

export interface DeviceChoice {
  provider: ExecutionProvider;
  /** Why each earlier candidate was skipped, in order; empty when the first choice worked. */
  fallbacks: { provider: ExecutionProvider; reason: string }[];
  /** Wall time of the probe run on the chosen provider, in milliseconds. */
  probeMs: number;
}

export const KNOWN_PROVIDERS: readonly ExecutionProvider[] = ['webgpu', 'cuda', 'cpu'];

export function isExecutionProvider(name: string): name is ExecutionProvider {
  return (KNOWN_PROVIDERS as readonly string[]).includes(name);
}

/** Tries each provider in order; the CPU is appended when missing because it always exists. */
export async function chooseDevice(order: readonly ExecutionProvider[], threads: number): Promise<DeviceChoice> {
  const candidates = order.includes('cpu') ? [...order] : [...order, 'cpu' as const];
  const available = new Set(listBackends().map((b) => b.name));
  const fallbacks: DeviceChoice['fallbacks'] = [];
  for (const provider of candidates) {
    if (!available.has(provider)) {
      fallbacks.push({ provider, reason: `${provider} is not in this onnxruntime-node build (${[...available].join(', ')})` });
      continue;
    }
    try {
      const session = await Session.create(buildProbeGraph(), { provider, threads });
      try {
        const probeMs = await runProbe(session);
        return { provider, fallbacks, probeMs };
      } finally {
        await session.release();
      }
    } catch (err) {
      fallbacks.push({ provider, reason: errorMessage(err) });
    }
  }
  const reasons = fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ');
  throw new Error(`no execution provider could run a probe graph (${reasons})`);
}
