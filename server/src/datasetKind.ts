// Which kind of HdLM dataset a JSON Lines text is, judged by its first object: every dataset
// feature asks this first.

/** The dataset shape a JSON Lines file has, judged by its first object; undefined for other files. */
export function datasetKind(text: string): 'hierarchical' | 'guided' | undefined {
  for (const line of text.split('\n', 50)) {
    try {
      const v = JSON.parse(line) as Record<string, unknown>;
      if (v && typeof v === 'object') {
        if ('labels' in v && 'text' in v) return 'hierarchical';
        if ('input' in v && 'answer' in v) return 'guided';
        return undefined;
      }
    } catch {
      // Not JSON; keep looking for the first object.
    }
  }
  return undefined;
}
