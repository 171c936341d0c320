// The server's view of the `hdlm.*` settings, typed once. Values come from the client through
// workspace/configuration when it supports that, else from initializationOptions, else defaults;
// anything malformed is replaced by its default and reported, never trusted.
import { capThreads, ExecutionProvider, isExecutionProvider } from '../../engine/src/index';
import { HEAD_PRECISIONS, isHeadPrecision, type HeadPrecision } from '../../engine/src/arch/head';

export interface HdlmSettings {
  executionProviders: ExecutionProvider[];
  threads: number;
  /** A Hugging Face model folder (absolute, or relative to the workspace), or 'default'. */
  model: string;
  /** A task file (*.hdlm.json) for classification, or '' for the shipped WordNet task. */
  task: string;
  /** Thought-then-answer inline completions, in the languages of `inlineLanguages`. */
  inlineEnabled: boolean;
  /** Language ids where inline completions are offered (when enabled). */
  inlineLanguages: string[];
  /** Most tokens of a thought and of an answer. */
  maxTokens: number;
  /** How the model's own head multiplies (layer view, generation): 'fp32', or 'int8' for a quarter of its bytes. */
  headPrecision: HeadPrecision;
}

export const DEFAULT_SETTINGS: HdlmSettings = { executionProviders: ['cpu'], threads: 0, model: 'default', task: '', inlineEnabled: false, inlineLanguages: ['plaintext', 'markdown'], maxTokens: 24, headPrecision: 'fp32' };

/** The settings that need a new engine when they change (the others only reload the model). */
export function engineSettings(s: HdlmSettings): Pick<HdlmSettings, 'executionProviders' | 'threads'> {
  return { executionProviders: s.executionProviders, threads: s.threads };
}

/** The settings that choose the task session (TaskHost): a change opens another one. */
export function sessionSettings(s: HdlmSettings): Pick<HdlmSettings, 'model' | 'task' | 'headPrecision'> {
  return { model: s.model, task: s.task, headPrecision: s.headPrecision };
}

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
      // More threads than cores only contend (thousands of them lock the server up): capped, and said.
      const capped = capThreads(threads, 'hdlm.threads');
      settings.threads = capped.threads;
      if (capped.notice !== undefined) problems.push(capped.notice);
    } else {
      problems.push(`hdlm.threads must be a whole number ≥ 0; got ${JSON.stringify(threads)}`);
    }
  }
  const inline = obj['inline'];
  // A section that is no object ("yes") is reported like any wrong-typed setting, not read as an empty one.
  if (inline !== undefined && (typeof inline !== 'object' || inline === null || Array.isArray(inline))) {
    problems.push(`hdlm.inline must be an object like { "enabled": true, "languages": ["plaintext"] }; got ${JSON.stringify(inline)}`);
  } else if (inline !== undefined) {
    const section = inline as Record<string, unknown>;
    const enabled = section['enabled'];
    if (typeof enabled === 'boolean') settings.inlineEnabled = enabled;
    else if (enabled !== undefined) problems.push(`hdlm.inline.enabled must be true or false; got ${JSON.stringify(enabled)}`);
    const languages = section['languages'];
    if (Array.isArray(languages) && languages.every((l) => typeof l === 'string')) settings.inlineLanguages = languages as string[];
    else if (languages !== undefined) problems.push(`hdlm.inline.languages must be a list of language ids; got ${JSON.stringify(languages)}`);
  }
  const maxTokens = obj['maxTokens'];
  if (maxTokens !== undefined) {
    if (typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens >= 1 && maxTokens <= 512) settings.maxTokens = maxTokens;
    else problems.push(`hdlm.maxTokens must be a whole number from 1 to 512; got ${JSON.stringify(maxTokens)}`);
  }
  const precision = obj['headPrecision'];
  if (isHeadPrecision(precision)) settings.headPrecision = precision;
  else if (precision !== undefined) problems.push(`hdlm.headPrecision must be ${HEAD_PRECISIONS.map((p) => JSON.stringify(p)).join(' or ')}; got ${JSON.stringify(precision)}`);
  for (const key of ['model', 'task'] as const) {
    const value = obj[key];
    if (value === undefined) continue;
    if (typeof value === 'string') settings[key] = key === 'model' && value.trim() === '' ? 'default' : value.trim();
    else problems.push(`hdlm.${key} must be a path string; got ${JSON.stringify(value)}`);
  }
  return { settings, problems };
}
