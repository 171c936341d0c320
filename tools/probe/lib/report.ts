// Plain-text tables and the run record (when, where) written beside every result.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname } from 'node:path';

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const pct = (x: number): string => (100 * x).toFixed(2);

export interface RunRecord {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  /** 1-minute load average when the run started: other work on the machine slows the timings. */
  loadAverage: number;
}

export function runRecord(): RunRecord {
  const info = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: info[0]?.model.trim() ?? 'unknown',
    cores: info.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: Number(loadavg()[0]!.toFixed(2)),
  };
}

export function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Parses a comma-separated list of positive numbers (an L2 grid). */
export function parseGrid(text: string, flag: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v <= 0)) throw new Error(`${flag}: expected positive numbers separated by commas, got ${JSON.stringify(text)}`);
  return values;
}

export function parseCount(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${flag}: expected a whole number, got ${JSON.stringify(text)}`);
  return value;
}
