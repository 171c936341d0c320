// How many intra-op threads onnxruntime may be asked for: at most one per core. More only
// contend, and they cost a stack each: `hdlm generate --threads 2000` took 22 s and 340 MB for two
// tokens, and 100,000 never finished. One owner for the CLI's --threads and the server's
// hdlm.threads, so both cap alike and say so alike.
import { availableParallelism } from 'node:os';

/** Most engine threads: one per core the machine has. */
export const MAX_THREADS = availableParallelism();

/**
 * `asked` (0: onnxruntime decides) capped at MAX_THREADS, and, when it was more, the notice
 * saying so, naming the setting or option it came from (`name`).
 */
export function capThreads(asked: number, name: string): { threads: number; notice?: string } {
  if (asked <= MAX_THREADS) return { threads: asked };
  return { threads: MAX_THREADS, notice: `${name} ${asked} is more than this machine's ${MAX_THREADS} cores; using ${MAX_THREADS}` };
}
