// Whether the client restarts a language server that died, without `vscode` (unit-tested): only
// the deaths within the last three minutes count, as VS Code's own default handler counts them.

/** Restarts are counted within this window, like VS Code's own default handler does. */
export const RESTART_WINDOW_MS = 3 * 60 * 1000;

export interface RestartDecision {
  /** The deaths still in the window, this one included, oldest first. */
  deaths: number[];
  /** Restart while the deaths in the window are at most `maxRestarts`; give up after that. */
  restart: boolean;
}

/**
 * The server died at `now` (ms), after the earlier deaths `deaths` (oldest first): those more than
 * the window before `now` are forgotten (one exactly the window before still counts).
 */
export function restartDecision(deaths: readonly number[], now: number, maxRestarts: number): RestartDecision {
  const recent = [...deaths, now].filter((t) => now - t <= RESTART_WINDOW_MS);
  return { deaths: recent, restart: recent.length <= maxRestarts };
}
