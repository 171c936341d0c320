// Builds the pretraining corpus from installed Debian packages: clean plain text, deduplicated,
// capped in size with a fair share per source, split into train and held-out by document hash.
// Writes train.txt, heldout.txt (documents each followed by a line `<|eos|>`) and stats.json.
// See tools/corpus/README.md for the sources, the cleaning rules and the exact commands.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { syncFolder, writeDurably } from '../../engine/src/atomicFile';
import { FlagSpec, parseFlags, usage, UsageError } from './lib/args';
import {
  Candidate,
  Deduplicator,
  documentHashes,
  joinDocuments,
  selectUnderQuota,
  tally,
  Tally,
  waterFill,
} from './lib/corpus';
import { requirePackages, SourceError } from './lib/debian';
import { CorpusSource, selectSources, SOURCES } from './lib/sources';
import { normalizeText } from './lib/text';
import { InvalidStanza } from '../data/lib/aptLists';

const FLAGS: Record<string, FlagSpec> = {
  out: { kind: 'string', default: '.cache/corpus', help: 'output folder' },
  sources: { kind: 'string', default: 'default', help: `comma-separated: ${SOURCES.map((s) => s.name).join(', ')}, default, all` },
  'max-mb': { kind: 'number', default: 80, help: 'cap on the total text, in MB (10^6 bytes of UTF-8)' },
  heldout: { kind: 'number', default: 0.01, help: 'fraction of documents held out' },
  'min-chars': { kind: 'number', default: 50, help: 'drop documents shorter than this after cleaning' },
  seed: { kind: 'string', default: 'hdlm-corpus-v1', help: 'changes which documents are held out and kept under the cap' },
  list: { kind: 'boolean', default: false, help: 'list the sources and whether their packages are installed, then exit' },
};

interface SourceStats {
  packages: string[];
  licence: string;
  note: string;
  documentsRead: number;
  tooShort: number;
  exactDuplicates: number;
  nearDuplicates: number;
  available: Tally;
  kept: Tally;
  train: Tally;
  heldout: Tally;
  /** Records left out because they are not UTF-8 (apt lists), with the first few named. */
  invalidUtf8?: { records: number; first: InvalidStanza[] };
}

/** How many invalid records stats.json and the log name; the count covers them all. */
const INVALID_NAMED = 5;

/** Reads, cleans and deduplicates one source; returns its candidates and fills its stats. */
function readSource(source: CorpusSource, dedup: Deduplicator, minChars: number, seed: string, stats: SourceStats): Candidate[] {
  const candidates: Candidate[] = [];
  const onInvalid = (record: InvalidStanza): void => {
    const invalid = (stats.invalidUtf8 ??= { records: 0, first: [] });
    invalid.records++;
    if (invalid.first.length < INVALID_NAMED) invalid.first.push(record);
  };
  for (const doc of source.documents(onInvalid)) {
    stats.documentsRead++;
    const text = normalizeText(doc.text);
    if (text.length < minChars) {
      stats.tooShort++;
      continue;
    }
    const hashes = documentHashes(text, seed);
    const verdict = dedup.check(hashes);
    if (verdict === 'exact-duplicate') stats.exactDuplicates++;
    else if (verdict === 'near-duplicate') stats.nearDuplicates++;
    else candidates.push({ source: source.name, text, bytes: Buffer.byteLength(text), hashes });
  }
  stats.available = tally(candidates);
  return candidates;
}

function emptyTally(): Tally {
  return { documents: 0, bytes: 0, words: 0 };
}

/**
 * Writes the files through temporary names and renames them only once all are written, so an
 * interrupted run leaves neither a half file nor a train.txt of one build beside the heldout.txt
 * of another (documents could then be in both).
 */
function writeAllAtomic(files: readonly [string, string][]): void {
  // Flushed before any rename: a power cut must not leave a renamed, empty train.txt.
  for (const [path, data] of files) writeDurably(`${path}.partial`, [Buffer.from(data)]);
  for (const [path] of files) renameSync(`${path}.partial`, path);
  for (const dir of new Set(files.map(([path]) => dirname(path)))) syncFolder(dir);
}

function listSources(): void {
  for (const s of SOURCES) {
    const state = s.packages.map((p) => {
      try {
        return `${p} ${requirePackages([p])[p]}`;
      } catch {
        return `${p} (not installed)`;
      }
    });
    console.log(`${s.name.padEnd(20)} ${s.byDefault ? 'default' : 'opt-in '}  ${state.join(', ')}\n${''.padEnd(31)}${s.note}`);
  }
}

function build(values: Record<string, string | number | boolean>): void {
  const outDir = resolve(String(values['out']));
  const maxBytes = Math.round(Number(values['max-mb']) * 1e6);
  const heldout = Number(values['heldout']);
  const minChars = Number(values['min-chars']);
  const seed = String(values['seed']);
  if (!(heldout > 0 && heldout < 0.5)) throw new UsageError('--heldout must be between 0 and 0.5');
  if (!(maxBytes > 0)) throw new UsageError('--max-mb must be positive');
  const sources = selectSources(String(values['sources']));
  // Check every package before reading anything, so one run names everything that is missing.
  const packages = requirePackages([...new Set(sources.flatMap((s) => s.packages))].sort());

  const dedup = new Deduplicator();
  const perSource: Record<string, SourceStats> = {};
  const bySource: Candidate[][] = [];
  for (const source of sources) {
    const started = Date.now();
    const stats: SourceStats = {
      packages: [...source.packages], licence: source.licence, note: source.note, documentsRead: 0, tooShort: 0,
      exactDuplicates: 0, nearDuplicates: 0, available: emptyTally(), kept: emptyTally(), train: emptyTally(), heldout: emptyTally(),
    };
    bySource.push(readSource(source, dedup, minChars, seed, stats));
    perSource[source.name] = stats;
    const mb = (stats.available.bytes / 1e6).toFixed(1);
    console.log(`${source.name}: ${stats.available.documents} documents, ${mb} MB after cleaning and dedup (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    if (stats.invalidUtf8 !== undefined) {
      const named = stats.invalidUtf8.first.map((r) => `${r.package} (${r.file}:${r.line})`).join(', ');
      console.log(`  left out ${stats.invalidUtf8.records} records that are not valid UTF-8: ${named}${stats.invalidUtf8.records > INVALID_NAMED ? ', …' : ''}`);
    }
  }

  const quotas = waterFill(bySource.map((c) => tally(c).bytes), maxBytes);
  const kept = bySource.flatMap((candidates, i) => selectUnderQuota(candidates, quotas[i]!));
  kept.sort((a, b) => a.hashes.rank - b.hashes.rank); // Interleaved: any prefix of train.txt is a fair sample.
  const train = kept.filter((c) => c.hashes.split >= heldout);
  const held = kept.filter((c) => c.hashes.split < heldout);
  for (const source of sources) {
    const stats = perSource[source.name]!;
    stats.kept = tally(kept.filter((c) => c.source === source.name));
    stats.train = tally(train.filter((c) => c.source === source.name));
    stats.heldout = tally(held.filter((c) => c.source === source.name));
  }

  mkdirSync(outDir, { recursive: true });
  const trainText = joinDocuments(train.map((c) => c.text));
  const heldText = joinDocuments(held.map((c) => c.text));
  const stats = {
    format: 'UTF-8 plain text; every document is followed by a line holding only <|eos|>',
    config: { sources: sources.map((s) => s.name), maxBytes, heldoutFraction: heldout, minChars, seed },
    packages,
    totals: { train: tally(train), heldout: tally(held) },
    sha256: {
      'train.txt': createHash('sha256').update(trainText).digest('hex'),
      'heldout.txt': createHash('sha256').update(heldText).digest('hex'),
    },
    sources: perSource,
  };
  writeAllAtomic([
    [join(outDir, 'train.txt'), trainText],
    [join(outDir, 'heldout.txt'), heldText],
    [join(outDir, 'stats.json'), JSON.stringify(stats, null, 2) + '\n'],
  ]);
  const t = stats.totals;
  console.log(`train: ${t.train.documents} documents, ${(t.train.bytes / 1e6).toFixed(1)} MB; heldout: ${t.heldout.documents} documents, ${(t.heldout.bytes / 1e6).toFixed(2)} MB`);
  console.log(`wrote ${join(outDir, 'train.txt')}, heldout.txt and stats.json`);
}

function main(): number {
  const script = 'out/tools/corpus/buildCorpus.js';
  const summary = 'Builds the pretraining corpus (train.txt, heldout.txt, stats.json) from installed Debian packages.';
  try {
    const values = parseFlags(process.argv.slice(2), FLAGS);
    if (values === null) {
      console.log(usage(script, summary, FLAGS));
      return 0;
    }
    if (values['list'] === true) listSources();
    else build(values);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${usage(script, summary, FLAGS)}`);
      return 2;
    }
    if (err instanceof SourceError) {
      console.error(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = main();
