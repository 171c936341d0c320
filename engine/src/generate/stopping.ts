// When a row is done: a stop token, a stop string in its decoded text, or the token budget.

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

  /** Checks a row after it produced `token`; `text` is its decoded output so far (for stop strings). */
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
