// Builds the task datasets from Debian sources (see data/README.md):
//   node out/tools/data/buildDatasets.js --out <dir> [--wordnet /usr/share/wordnet]
//        [--packages <*_Packages and *_Translation-en files>] [--only wordnet|debian ...]
//        [--fixtures data/fixtures]
// Writes <out>/{wordnet,thought,debian}/{train,dev,test}.jsonl, <out>/wordnet/taxonomy.json,
// <out>/debian/sections.json, <out>/stats.json and <out>/summary.md (the README's tables);
// with --fixtures, also the small committed samples. Outputs depend only on the inputs: two runs give byte-identical files.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFlags, single, UsageError } from './lib/args';
import { buildDebian, DebianBuild, SourceText } from './lib/debianDataset';
import { GuidedRecord, HierarchicalRecord, validateGuided, validateHierarchical } from '../../engine/src/hdlm/dataset/formats';
import { sampleByGroup, SplitRecord } from './lib/items';
import { formatIssues, toJsonl } from '../../engine/src/hdlm/dataset/jsonl';
import { readSourceBytes, SourceError } from './lib/sources';
import { countSplits, DEFAULT_RATIOS, DEFAULT_SEED, SPLITS } from './lib/split';
import { GuidedSummary, summaryMarkdown } from './lib/summary';
import { buildWordNet, WordNetBuild } from './lib/wordnetDataset';
import { parseNounData } from './lib/wordnet';

const APT_LISTS = '/var/lib/apt/lists';
const DEFAULT_WORDNET = '/usr/share/wordnet';
/** Each committed fixture stays under the 200-line limit of the issue. */
const FIXTURE_LINES = 200;
const DATASETS = ['wordnet', 'debian'] as const;
type DatasetName = (typeof DATASETS)[number];

interface SourceRecord {
  file: string;
  /** Size after decompression; the hash is of the decompressed bytes too. */
  bytes: number;
  sha256: string;
}

/** Reads a source and remembers its size and hash for stats.json, so a rebuild can be checked. */
class Sources {
  readonly used: SourceRecord[] = [];

  text(file: string, provider: string, encoding: 'utf8' | 'latin1' = 'utf8'): string {
    const bytes = readSourceBytes(file, { provider });
    this.used.push({ file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    return bytes.toString(encoding);
  }
}

function packageVersion(name: string): string | null {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}

function writeSplits<T extends object>(dir: string, records: readonly SplitRecord<T>[]): void {
  mkdirSync(dir, { recursive: true });
  for (const split of SPLITS) {
    writeFileSync(join(dir, `${split}.jsonl`), toJsonl(records.filter((r) => r.split === split).map((r) => r.record)));
  }
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

/** The builder checks its own output with the validators consumers use; a failure is a bug here. */
function selfCheck(name: string, text: string, kind: 'hierarchical' | 'guided'): void {
  const { issues } = kind === 'hierarchical' ? validateHierarchical(text) : validateGuided(text);
  if (issues.length > 0) throw new Error(`internal error: the ${name} dataset fails validation:\n${formatIssues(name, issues.slice(0, 10))}`);
}

function runWordNet(dir: string, sources: Sources): WordNetBuild {
  const file = join(dir, 'data.noun');
  const provider = "Debian package wordnet-base (WordNet 3.0): apt-get install wordnet-base, or pass --wordnet <folder with data.noun>";
  // latin1 keeps one character per byte, which the offset check relies on (the file is ASCII).
  const synsets = parseNounData(sources.text(file, provider, 'latin1'), file, { checkOffsets: true });
  return buildWordNet(synsets);
}

/** apt lists from Debian's own archive; third-party repositories (nodesource, …) are left out. */
function discoverAptLists(): string[] {
  if (!existsSync(APT_LISTS)) throw new SourceError(`${APT_LISTS} not found; pass --packages <files> or run on Debian`);
  return readdirSync(APT_LISTS)
    .filter((name) => /debian/.test(name) && /_(Packages|Translation-en)(\.[a-z0-9]+)?$/.test(name))
    .sort()
    .map((name) => join(APT_LISTS, name));
}

function runDebian(files: readonly string[], sources: Sources): DebianBuild {
  const packages: SourceText[] = [];
  const translations: SourceText[] = [];
  const provider = 'apt-get update -o Acquire::Languages=en (apt lists in /var/lib/apt/lists)';
  for (const file of [...files].sort()) {
    if (/Translation-en/.test(file)) translations.push({ file, text: sources.text(file, provider) });
    else if (/Packages/.test(file)) packages.push({ file, text: sources.text(file, provider) });
    else throw new SourceError(`${file}: cannot tell from its name whether it is a Packages or a Translation-en index`);
  }
  return buildDebian(packages, translations);
}

function guidedSummary(records: readonly SplitRecord<GuidedRecord>[]): GuidedSummary {
  return {
    splits: countSplits(records),
    distinctThoughts: new Set(records.map((r) => r.record.thought)).size,
    distinctAnswers: new Set(records.map((r) => r.record.answer)).size,
  };
}

function writeFixtures(dir: string, wordnet: WordNetBuild | undefined, debian: DebianBuild | undefined): void {
  mkdirSync(dir, { recursive: true });
  if (wordnet !== undefined) {
    // One item per level-3 label covers every label of every level in under 200 lines.
    const byLeaf = (r: SplitRecord<HierarchicalRecord>): string => r.record.labels[r.record.labels.length - 1] as string;
    const sample = sampleByGroup(wordnet.classification, (r) => r.record.id, byLeaf, FIXTURE_LINES);
    writeFileSync(join(dir, 'wordnet.sample.jsonl'), toJsonl(sample.map((r) => r.record)));
    const thought = sampleByGroup(wordnet.thought, (r) => r.record.id, (r) => r.record.thought, FIXTURE_LINES);
    writeFileSync(join(dir, 'thought.sample.jsonl'), toJsonl(thought.map((r) => r.record)));
  }
  if (debian !== undefined) {
    const sample = sampleByGroup(debian.records, (r) => r.record.id, (r) => r.record.thought, FIXTURE_LINES);
    writeFileSync(join(dir, 'debian.sample.jsonl'), toJsonl(sample.map((r) => r.record)));
  }
}

function printSummary(stats: { wordnet?: WordNetBuild['stats']; debian?: DebianBuild['stats']; thought?: GuidedSummary }): void {
  if (stats.wordnet !== undefined) {
    const w = stats.wordnet;
    console.log(`wordnet: ${w.splits.train} train / ${w.splits.dev} dev / ${w.splits.test} test`);
    w.levels.forEach((l, i) =>
      console.log(`  level ${i + 1}: ${l.labels} labels (${l.otherLabels} other, holding ${(l.otherShare * 100).toFixed(1)}% of items), min ${l.minTrain} train items per label`),
    );
    console.log(`  skipped ${JSON.stringify(w.skipped)}; tree repair dropped ${w.repairDropped.join('/')}; fold dropped ${w.foldDropped.join('/')}`);
  }
  if (stats.thought !== undefined) console.log(`thought: ${JSON.stringify(stats.thought)}`);
  if (stats.debian !== undefined) {
    const d = stats.debian;
    const l = d.levels[0];
    console.log(`debian: ${d.splits.train} train / ${d.splits.dev} dev / ${d.splits.test} test; ${l?.labels ?? 0} sections (${d.foldedSections.length} folded into other)`);
    console.log(`  skipped ${JSON.stringify(d.skipped)}`);
  }
}

function main(argv: readonly string[]): void {
  const flags = parseFlags(argv, ['out', 'wordnet', 'packages', 'only', 'fixtures']);
  const out = single(flags, 'out');
  const only = (flags.get('only') ?? [...DATASETS]).flatMap((v) => v.split(',')).filter((v) => v !== '');
  for (const name of only) if (!(DATASETS as readonly string[]).includes(name)) throw new UsageError(`--only takes ${DATASETS.join(', ')} (got '${name}')`);
  const wanted = (name: DatasetName): boolean => only.includes(name);
  const sources = new Sources();

  const wordnet = wanted('wordnet') ? runWordNet(single(flags, 'wordnet', DEFAULT_WORDNET), sources) : undefined;
  const debian = wanted('debian') ? runDebian(flags.get('packages') ?? discoverAptLists(), sources) : undefined;

  const stats: Record<string, unknown> = { seed: DEFAULT_SEED, ratios: DEFAULT_RATIOS };
  const thought = wordnet === undefined ? undefined : guidedSummary(wordnet.thought);
  if (wordnet !== undefined) {
    selfCheck('wordnet', toJsonl(wordnet.classification.map((r) => r.record)), 'hierarchical');
    selfCheck('thought', toJsonl(wordnet.thought.map((r) => r.record)), 'guided');
    writeSplits(join(out, 'wordnet'), wordnet.classification);
    writeSplits(join(out, 'thought'), wordnet.thought);
    writeJson(join(out, 'wordnet', 'taxonomy.json'), wordnet.tree);
    stats['wordnet'] = { package: 'wordnet-base', version: packageVersion('wordnet-base'), ...wordnet.stats };
    stats['thought'] = thought;
  }
  if (debian !== undefined) {
    selfCheck('debian', toJsonl(debian.records.map((r) => r.record)), 'guided');
    writeSplits(join(out, 'debian'), debian.records);
    writeJson(join(out, 'debian', 'sections.json'), debian.sections);
    stats['debian'] = debian.stats;
  }
  stats['sources'] = [...sources.used].sort((a, b) => (a.file < b.file ? -1 : 1));
  writeJson(join(out, 'stats.json'), stats);
  writeFileSync(join(out, 'summary.md'), summaryMarkdown({ wordnet: wordnet?.stats, wordnetParent: wordnet?.tree.parent, thought, debian: debian?.stats }));
  const fixtures = flags.get('fixtures');
  if (fixtures !== undefined) writeFixtures(single(flags, 'fixtures'), wordnet, debian);
  printSummary({ wordnet: wordnet?.stats, debian: debian?.stats, thought });
  console.log(`wrote ${out}${fixtures !== undefined ? ` and fixtures in ${single(flags, 'fixtures')}` : ''}`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  if (err instanceof SourceError || err instanceof UsageError) {
    console.error(`buildDatasets: ${err.message}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  }
  throw err;
}
