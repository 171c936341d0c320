// Plain-text output for people: aligned two-column tables.

export function printTable(rows: readonly (readonly [string, string])[], out: (line: string) => void = console.log): void {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  for (const [k, v] of rows) out(`${k.padEnd(width)}  ${v}`);
}
