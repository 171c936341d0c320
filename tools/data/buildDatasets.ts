// Builds the task datasets from Debian sources (see data/README.md):
//   node out/tools/data/buildDatasets.js --out <dir> [--wordnet /usr/share/wordnet]
//        [--packages <*_Packages and *_Translation-en files>] [--only wordnet|debian ...]
//        [--fixtures data/fixtures]
// Writes <out>/{wordnet,thought,debian}/{train,dev,test}.jsonl, <out>/wordnet/taxonomy.json,
// <out>/debian/sections.json, <out>/stats.json and <out>/summary.md (the README's tables);
// with --fixtures, also the small committed samples. Outputs depend only on the inputs: two runs give byte-identical files.
// With --only, stats.json and summary.md keep the other datasets' parts from the files already
// in <out>. Every file is renamed into place only after all are written (lib/output.ts).
// Without --packages, only Debian's own lists of the default suites are read (lib/aptLists.ts).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseFlags, single, UsageError } from './lib/args';
import { decodeAptList, isDefaultDebianList } from './lib/aptLists';
import { buildDebian, DebianBuild, DebianStats, SourceText } from './lib/debianDataset';
import { GuidedRecord, HierarchicalRecord, validateGuided, validateHierarchical } from '../../engine/src/hdlm/dataset/formats';
import { sampleByGroup, SplitRecord } from './lib/items';
import { formatIssues, toJsonl } from '../../engine/src/hdlm/dataset/jsonl';
import { readSourceBytes, SourceError } from './lib/sources';
import { countSplits, DEFAULT_RATIOS, DEFAULT_SEED, SPLITS } from './lib/split';
import { GuidedSummary, summaryMarkdown } from './lib/summary';
import { buildWordNet, WordNetBuild, WordNetStats } from './lib/wordnetDataset';
import { DatasetName, DATASETS, mergeStats, readPreviousStats, SourceEntry, StatsFile, writeFilesAtomically } from './lib/output';
import { parseNounData } from './lib/wordnet';

const APT_LISTS = '/var/lib/apt/lists';
const DEFAULT_WORDNET = '/usr/share/wordnet';
/** Each committed fixture stays under the 200-line limit of the issue. */
const FIXTURE_LINES = 200;
/** Reads a source and remembers its size and hash for stats.json, so a rebuild can be checked. */
class Sources {
  readonly used: SourceEntry[] = [];

  bytes(file: string, provider: string, dataset: DatasetName): Buffer {
    const bytes = readSourceBytes(file, { provider });
    this.used.push({ file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), dataset });
    return bytes;
  }
}

/** The files of one build, path → contents, written together at the end. */
type Outputs = Map<string, string>;

function packageVersion(name: string): string | null {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}

function addSplits<T extends object>(outputs: Outputs, dir: string, records: readonly SplitRecord<T>[]): void {
  for (const split of SPLITS) {
    outputs.set(join(dir, `${split}.jsonl`), toJsonl(records.filter((r) => r.split === split).map((r) => r.record)));
  }
}

function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
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
  const synsets = parseNounData(sources.bytes(file, provider, 'wordnet').toString('latin1'), file, { checkOffsets: true });
  return buildWordNet(synsets);
}

/**
 * The apt lists of Debian's own archive for the suites apt installs from by default (base,
 * -updates, -security). Backports, which tools/setup.sh adds for Mesa, would put -bpo versions
 * and backports-only packages in the dataset; third-party repositories are not Debian's.
 */
function discoverAptLists(): string[] {
  if (!existsSync(APT_LISTS)) throw new SourceError(`${APT_LISTS} not found; pass --packages <files> or run on Debian`);
  const lists = readdirSync(APT_LISTS).filter((name) => /_(Packages|Translation-en)(\.[a-z0-9]+)?$/.test(name)).sort();
  const left = lists.filter((name) => !isDefaultDebianList(name));
  if (left.length > 0) console.log(`debian: not read (not a default suite of Debian's archive): ${left.join(', ')}`);
  return lists.filter(isDefaultDebianList).map((name) => join(APT_LISTS, name));
}

function aptListText(file: string, sources: Sources): SourceText {
  const provider = 'apt-get update -o Acquire::Languages=en (apt lists in /var/lib/apt/lists)';
  const { text, invalid } = decodeAptList(sources.bytes(file, provider, 'debian'), file);
  return { file, text, invalid };
}

function runDebian(files: readonly string[], sources: Sources): DebianBuild {
  const packages: SourceText[] = [];
  const translations: SourceText[] = [];
  for (const file of [...files].sort()) {
    // By the file's own name: a folder named after one kind must not decide it.
    const name = basename(file);
    if (/Translation-en/.test(name)) translations.push(aptListText(file, sources));
    else if (/Packages/.test(name)) packages.push(aptListText(file, sources));
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

function addFixtures(outputs: Outputs, dir: string, wordnet: WordNetBuild | undefined, debian: DebianBuild | undefined): void {
  if (wordnet !== undefined) {
    // One item per level-3 label covers every label of every level in under 200 lines.
    const byLeaf = (r: SplitRecord<HierarchicalRecord>): string => r.record.labels[r.record.labels.length - 1] as string;
    const sample = sampleByGroup(wordnet.classification, (r) => r.record.id, byLeaf, FIXTURE_LINES);
    outputs.set(join(dir, 'wordnet.sample.jsonl'), toJsonl(sample.map((r) => r.record)));
    const thought = sampleByGroup(wordnet.thought, (r) => r.record.id, (r) => r.record.thought, FIXTURE_LINES);
    outputs.set(join(dir, 'thought.sample.jsonl'), toJsonl(thought.map((r) => r.record)));
  }
  if (debian !== undefined) {
    const sample = sampleByGroup(debian.records, (r) => r.record.id, (r) => r.record.thought, FIXTURE_LINES);
    outputs.set(join(dir, 'debian.sample.jsonl'), toJsonl(sample.map((r) => r.record)));
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
    if (d.invalidUtf8.stanzas > 0) {
      const named = d.invalidUtf8.first.map((s) => `${s.package} (${s.file}:${s.line})`).join(', ');
      console.log(`  left out ${d.invalidUtf8.stanzas} stanzas that are not valid UTF-8: ${named}${d.invalidUtf8.stanzas > d.invalidUtf8.first.length ? ', …' : ''}`);
    }
  }
}

/** The WordNet tree's parent map for summary.md: from this build, or from the folder's taxonomy.json when WordNet is kept. */
function wordnetParent(out: string, wordnet: WordNetBuild | undefined): Readonly<Record<string, string>> | undefined {
  if (wordnet !== undefined) return wordnet.tree.parent;
  const file = join(out, 'wordnet', 'taxonomy.json');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as { parent?: Record<string, string> }).parent;
}

function main(argv: readonly string[]): void {
  const flags = parseFlags(argv, ['out', 'wordnet', 'packages', 'only', 'fixtures']);
  const out = single(flags, 'out');
  const only = (flags.get('only') ?? [...DATASETS]).flatMap((v) => v.split(',')).filter((v) => v !== '');
  for (const name of only) if (!(DATASETS as readonly string[]).includes(name)) throw new UsageError(`--only takes ${DATASETS.join(', ')} (got '${name}')`);
  const wanted = (name: DatasetName): boolean => only.includes(name);
  const sources = new Sources();

  // Everything is read and built before anything is written: a bad source leaves <out> untouched.
  const wordnet = wanted('wordnet') ? runWordNet(single(flags, 'wordnet', DEFAULT_WORDNET), sources) : undefined;
  const debian = wanted('debian') ? runDebian(flags.get('packages') ?? discoverAptLists(), sources) : undefined;

  const outputs: Outputs = new Map();
  const fresh: StatsFile = { seed: DEFAULT_SEED, ratios: DEFAULT_RATIOS, sources: [] };
  const thought = wordnet === undefined ? undefined : guidedSummary(wordnet.thought);
  if (wordnet !== undefined) {
    selfCheck('wordnet', toJsonl(wordnet.classification.map((r) => r.record)), 'hierarchical');
    selfCheck('thought', toJsonl(wordnet.thought.map((r) => r.record)), 'guided');
    addSplits(outputs, join(out, 'wordnet'), wordnet.classification);
    addSplits(outputs, join(out, 'thought'), wordnet.thought);
    outputs.set(join(out, 'wordnet', 'taxonomy.json'), jsonText(wordnet.tree));
    fresh['wordnet'] = { package: 'wordnet-base', version: packageVersion('wordnet-base'), ...wordnet.stats };
    fresh['thought'] = thought;
  }
  if (debian !== undefined) {
    selfCheck('debian', toJsonl(debian.records.map((r) => r.record)), 'guided');
    addSplits(outputs, join(out, 'debian'), debian.records);
    outputs.set(join(out, 'debian', 'sections.json'), jsonText(debian.sections));
    fresh['debian'] = debian.stats;
  }
  fresh.sources = [...sources.used].sort((a, b) => (a.file < b.file ? -1 : 1));
  const previous = only.length < DATASETS.length ? readPreviousStats(join(out, 'stats.json'), (m) => console.warn(`buildDatasets: warning: ${m}`)) : undefined;
  const stats = mergeStats(previous, fresh, only as DatasetName[]);
  outputs.set(join(out, 'stats.json'), jsonText(stats));
  outputs.set(
    join(out, 'summary.md'),
    summaryMarkdown({
      wordnet: stats['wordnet'] as WordNetStats | undefined,
      wordnetParent: stats['wordnet'] === undefined ? undefined : wordnetParent(out, wordnet),
      thought: stats['thought'] as GuidedSummary | undefined,
      debian: stats['debian'] as DebianStats | undefined,
    }),
  );
  const fixtures = flags.get('fixtures');
  if (fixtures !== undefined) addFixtures(outputs, single(flags, 'fixtures'), wordnet, debian);
  writeFilesAtomically(outputs);
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
