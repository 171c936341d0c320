// How a training run ended, read off its report. Kept free of imports: the CLI, the language
// server's job view and the editor client all ask the same question, and the client bundle
// must not pull the engine in to answer it.

/** True when the run retrained no head: every one was already trained with these settings and data. */
export function retrainedNothing(report: { heads: readonly unknown[]; reused?: readonly string[] | undefined }): boolean {
  return (report.reused?.length ?? 0) === report.heads.length;
}
