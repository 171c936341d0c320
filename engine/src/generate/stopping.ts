// When a row is done: a stop token, a stop string in its decoded text, or the token budget.

import type { GenerationConfig } from './config';

export type StopReason = 'stopToken' | 'stopString' | 'maxTokens' | 'contextFull' | 'cancelled';

export class StoppingCriteria {
  private readonly stopIds: Set<number>;

  constructor(
    stopTokenIds: readonly number[],
    private readonly stopStrings: readonly string[],
    private readonly maxNewTokens: number,
  ) {
    this.stopIds = new Set(stopTokenIds);
  }

  /**
   * Checks a row after it produced `token`; `text` is its decoded output not streamed yet (for stop
   * strings: RowStream never streams one, nor its start), and a stop string's `cut` is in it.
   */
  check(token: number, generated: number, text: string | undefined): { reason: StopReason; cut?: number } | undefined {
    if (this.stopIds.has(token)) return { reason: 'stopToken' };
    if (text !== undefined) {
      const cut = this.firstStop(text);
      if (cut !== undefined) return { reason: 'stopString', cut };
    }
    if (generated >= this.maxNewTokens) return { reason: 'maxTokens' };
    return undefined;
  }

  get usesText(): boolean {
    return this.stopStrings.length > 0;
  }

  private firstStop(text: string): number | undefined {
    let cut: number | undefined;
    for (const s of this.stopStrings) {
      const at = text.indexOf(s);
      if (at >= 0 && (cut === undefined || at < cut)) cut = at;
    }
    return cut;
  }
}

/**
 * Stop strings that are a special token's text (`<|end|>`, `<|eos|>`) become that token's id:
 * decoding skips special tokens, so their text never shows for a stop string to be found in,
 * while the token itself ends the row as transformers' stop_strings ends it.
 */
export function specialTokenStops<C extends Pick<GenerationConfig, 'stopStrings' | 'stopTokenIds'>>(config: C, specialTokenId: (text: string) => number | undefined): C {
  const ids = config.stopStrings.map(specialTokenId);
  if (ids.every((id) => id === undefined)) return config;
  return {
    ...config,
    stopStrings: config.stopStrings.filter((_, i) => ids[i] === undefined),
    stopTokenIds: [...config.stopTokenIds, ...ids.filter((id): id is number => id !== undefined)],
  };
}
