// The server's view of the `hdlm.*` settings, typed once. Values come from the client through
// workspace/configuration when it supports that, else from initializationOptions, else defaults;
// anything malformed is replaced by its default and reported, never trusted.
import { ExecutionProvider, isExecutionProvider } from '../../engine/src/index';

export interface HdlmSettings {
  executionProviders: ExecutionProvider[];
  threads: number;
}

export const DEFAULT_SETTINGS: HdlmSettings = { executionProviders: ['cpu'], threads: 0 };

/** Turns an untyped settings object into HdlmSettings; problems are returned, not thrown. */
export function parseSettings(raw: unknown): { settings: HdlmSettings; problems: string[] } {
  const problems: string[] = [];
  const obj = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const settings = { ...DEFAULT_SETTINGS };

  const providers = obj['executionProviders'];
  if (providers !== undefined) {
    if (Array.isArray(providers) && providers.length > 0 && providers.every((p) => typeof p === 'string' && isExecutionProvider(p))) {
      settings.executionProviders = providers as ExecutionProvider[];
    } else {
      problems.push(`hdlm.executionProviders must be a non-empty list of "webgpu", "cuda", "cpu"; got ${JSON.stringify(providers)}`);
    }
  }

  const threads = obj['threads'];
  if (threads !== undefined) {
    if (typeof threads === 'number' && Number.isInteger(threads) && threads >= 0) {
      settings.threads = threads;
    } else {
      problems.push(`hdlm.threads must be a whole number ≥ 0; got ${JSON.stringify(threads)}`);
    }
  }
  return { settings, problems };
}
