// A one-line progress bar on stderr for long work; plain lines when stderr is not a terminal
// (CI logs, pipes), so logs stay readable.

export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(label: string, done: number, total: number, detail = ''): void {
    if (!this.stream.isTTY) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < total) return;
    this.lastDraw = now;
    const width = 24;
    const filled = total > 0 ? Math.round((done / total) * width) : 0;
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    this.stream.write(`\r${bar} ${label} ${done}/${total}${detail ? ` · ${detail}` : ''}\x1b[K`);
    this.drawn = true;
  }

  /** Ends the bar's line (if one was drawn) and prints a line. */
  line(text: string): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
    this.stream.write(`${text}\n`);
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  return s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}

/**
 * Rate and time left of counted work, per key (a variant, a stage), for progress events. Answers
 * at most every `intervalMs` (and always at the end), so an event stream stays small.
 */
export class ProgressRate {
  private readonly started = new Map<string, number>();
  private lastEmit = 0;

  constructor(private readonly intervalMs = 250) {}

  update(key: string, done: number, total: number): { examplesPerS: number; etaS: number } | undefined {
    const now = performance.now();
    if (!this.started.has(key)) this.started.set(key, now);
    if (now - this.lastEmit < this.intervalMs && done < total) return undefined;
    this.lastEmit = now;
    const seconds = Math.max(1e-3, (now - this.started.get(key)!) / 1000);
    const examplesPerS = done / seconds;
    return { examplesPerS, etaS: examplesPerS > 0 ? (total - done) / examplesPerS : Infinity };
  }
}
