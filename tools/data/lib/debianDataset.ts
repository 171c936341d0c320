// Debian package descriptions → section → synopsis: the classification-guided generation task.
// The long description is the input, the archive section (the coarse class, read by an
// intermediate head) is the thought, and the one-line synopsis is the answer that the last
// layer writes conditioned on it.
import { InvalidStanza } from './aptLists';
import { ControlFormatError, compareDebianVersions, Description, parseControl, parseDescription, Stanza } from './debian';
import { GuidedRecord } from '../../../engine/src/hdlm/dataset/formats';
import { SourceError } from './sources';
import { DEFAULT_SEED, splitOf } from './split';
import { countSplits, levelStats, LevelStats, SplitCounts } from './stats';
import { foldRare, nameKeys } from './taxonomy';
import { dropDuplicateTexts, SplitRecord } from './items';

/** Training items a section needs; rarer sections are folded into "other". */
export const DEBIAN_MIN_TRAIN = 100;

export interface SourceText {
  file: string;
  text: string;
  /** Stanzas left out of `text` because they are not UTF-8 (see decodeAptList). */
  invalid?: readonly InvalidStanza[];
}

/** How many invalid stanzas the stats and the summary name; the count covers them all. */
const INVALID_NAMED = 5;

interface PackageEntry {
  name: string;
  version: string;
  section: string | undefined;
  md5: string | undefined;
  /** Present when the Packages file itself carries the extended description. */
  description: Description | undefined;
}

const APT_UPDATE = 'apt-get update -o Acquire::Languages=en';

function stanzasOf(source: SourceText, kind: string): Stanza[] {
  let stanzas: Stanza[];
  try {
    stanzas = parseControl(source.text);
  } catch (err) {
    if (!(err instanceof ControlFormatError)) throw err;
    throw new SourceError(`${source.file}:${err.line}: ${err.message}; expected an apt ${kind} index (deb822 stanzas)`);
  }
  // An empty list is what an interrupted `apt-get update` or a truncated copy leaves; reading on
  // would fail much later, deep in the label folding, without naming the file.
  if (stanzas.length === 0) {
    const why = (source.invalid?.length ?? 0) > 0 ? `all ${source.invalid?.length} of its stanzas are not valid UTF-8` : 'the file is empty';
    throw new SourceError(`${source.file}: no stanzas (${why}); expected an apt ${kind} index; fetch the lists again with \`${APT_UPDATE}\``);
  }
  return stanzas;
}

/** "contrib/net" and "net" are the same section for our purpose: the component is not a topic. */
export function normalizeSection(section: string): string {
  return section.slice(section.lastIndexOf('/') + 1).trim().toLowerCase();
}

function readPackages(source: SourceText): PackageEntry[] {
  const entries: PackageEntry[] = [];
  for (const stanza of stanzasOf(source, 'Packages')) {
    const name = stanza.fields.get('Package');
    const version = stanza.fields.get('Version');
    if (name === undefined || version === undefined) {
      throw new SourceError(`${source.file}:${stanza.line}: stanza without 'Package' or 'Version'; expected an apt Packages index`);
    }
    const raw = stanza.fields.get('Description');
    const parsed = raw === undefined ? undefined : parseDescription(raw);
    const section = stanza.fields.get('Section');
    entries.push({
      name,
      version,
      section: section === undefined ? undefined : normalizeSection(section),
      md5: stanza.fields.get('Description-md5'),
      description: parsed !== undefined && parsed.long !== '' ? parsed : undefined,
    });
  }
  if (entries.length > 0 && !entries.some((e) => e.section !== undefined)) {
    throw new SourceError(`${source.file}: no stanza has a 'Section' field; expected an apt Packages index (a *_Packages file from /var/lib/apt/lists)`);
  }
  return entries;
}

function translationKey(name: string, md5: string): string {
  return `${name}\0${md5}`;
}

/** Adds the file's descriptions to `into`; returns how many stanzas it had. */
function readTranslations(source: SourceText, into: Map<string, Description>): number {
  const stanzas = stanzasOf(source, 'Translation-en');
  for (const stanza of stanzas) {
    const name = stanza.fields.get('Package');
    const md5 = stanza.fields.get('Description-md5');
    const text = stanza.fields.get('Description-en');
    if (name === undefined || md5 === undefined || text === undefined) {
      throw new SourceError(
        `${source.file}:${stanza.line}: expected 'Package', 'Description-md5' and 'Description-en' in every stanza of a Translation-en file (from \`${APT_UPDATE}\`)`,
      );
    }
    into.set(translationKey(name, md5), parseDescription(text));
  }
  return stanzas.length;
}

/** One entry per package: the newest version across all lists (ties: the first list given). */
function newestByName(entries: readonly PackageEntry[]): PackageEntry[] {
  const best = new Map<string, PackageEntry>();
  for (const entry of entries) {
    const seen = best.get(entry.name);
    if (seen === undefined || compareDebianVersions(entry.version, seen.version) > 0) best.set(entry.name, entry);
  }
  return [...best.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface DebianStats {
  packageStanzas: number;
  packages: number;
  skipped: { noSection: number; noDescription: number; emptyDescription: number; duplicateDescription: number };
  /** Stanzas (of either kind of list) left out because they are not UTF-8, and the first few of them. */
  invalidUtf8: { stanzas: number; first: InvalidStanza[] };
  sectionsBeforeFolding: number;
  minTrain: number;
  foldedSections: string[];
  splits: SplitCounts;
  levels: LevelStats[];
}

export interface DebianBuild {
  records: SplitRecord<GuidedRecord>[];
  sections: string[];
  stats: DebianStats;
}

interface DebianItem {
  id: string;
  split: ReturnType<typeof splitOf>;
  path: string[];
  text: string;
  synopsis: string;
}

interface FileCount {
  file: string;
  records: number;
  kind: 'package stanzas' | 'description stanzas';
}

/**
 * The error for a build that would write an empty dataset: it names every list read, what each
 * gave, and why nothing is left. The usual cause is Translation-en lists of other suites than
 * the Packages lists (no package finds its description), or too small an input.
 */
function nothingSurvived(perFile: readonly FileCount[], packages: number, skipped: DebianStats['skipped'], why: string): SourceError {
  const lists = perFile.map((f) => `  ${f.file}: ${f.records} ${f.kind}`).join('\n');
  return new SourceError(
    `no Debian record survived: ${why}.\nLists read:\n${lists}\n` +
      `Of ${packages} distinct packages: ${skipped.noDescription} without an English description (are the Translation-en lists from the same suites as the Packages lists?), ` +
      `${skipped.noSection} without a section, ${skipped.emptyDescription} without a long description, ${skipped.duplicateDescription} sharing their description with another.\n` +
      `Fetch matching lists with \`${APT_UPDATE}\` and pass both kinds, or leave --packages out to read /var/lib/apt/lists.`,
  );
}

export function buildDebian(
  packagesFiles: readonly SourceText[],
  translationFiles: readonly SourceText[],
  options: { minTrain?: number; seed?: string } = {},
): DebianBuild {
  if (packagesFiles.length === 0) throw new SourceError(`no Packages index given; run \`${APT_UPDATE}\` and pass /var/lib/apt/lists/*_Packages*`);
  if (translationFiles.length === 0) throw new SourceError(`no Translation-en index given; run \`${APT_UPDATE}\` (the Acquire::Languages=en part fetches them)`);
  const minTrain = options.minTrain ?? DEBIAN_MIN_TRAIN;
  const seed = options.seed ?? DEFAULT_SEED;
  const perFile: FileCount[] = [];
  const entries = packagesFiles.flatMap((source) => {
    const read = readPackages(source);
    perFile.push({ file: source.file, records: read.length, kind: 'package stanzas' });
    return read;
  });
  const translations = new Map<string, Description>();
  for (const source of translationFiles) {
    perFile.push({ file: source.file, records: readTranslations(source, translations), kind: 'description stanzas' });
  }
  const invalid = [...packagesFiles, ...translationFiles].flatMap((source) => source.invalid ?? []);
  const packages = newestByName(entries);
  const skipped = { noSection: 0, noDescription: 0, emptyDescription: 0, duplicateDescription: 0 };
  const items: DebianItem[] = [];
  for (const entry of packages) {
    if (entry.section === undefined || entry.section === '') {
      skipped.noSection += 1;
      continue;
    }
    const description = entry.description ?? (entry.md5 === undefined ? undefined : translations.get(translationKey(entry.name, entry.md5)));
    if (description === undefined) {
      skipped.noDescription += 1;
      continue;
    }
    if (description.long === '' || description.synopsis === '') {
      skipped.emptyDescription += 1;
      continue;
    }
    const id = `deb:${entry.name}`;
    items.push({ id, split: splitOf(id, seed), path: [entry.section], text: description.long, synopsis: description.synopsis });
  }
  // Lines shared by -dev, -doc and library packages, or by transitional packages, map one input
  // to several synopses; such inputs are dropped in all their copies.
  const unique = dropDuplicateTexts(items);
  skipped.duplicateDescription = unique.dropped;
  if (unique.items.length === 0) throw nothingSurvived(perFile, packages.length, skipped, 'no package has a section and a usable English description');
  const folded = foldRare(unique.items, { minTrain: [minTrain], topLevel: 'fold' });
  if (folded.items.length === 0) {
    throw nothingSurvived(perFile, packages.length, skipped, `${unique.items.length} packages had a description, but no section, nor \`other\` with them all, reached ${minTrain} training items`);
  }
  const names = nameKeys(folded.items.map((i) => i.path[0] as string), (key) => [key]);
  const records = folded.items.map((item) => ({
    split: item.split,
    record: { id: item.id, input: item.text, thought: names.get(item.path[0] as string) as string, answer: item.synopsis },
  }));
  const before = new Set(unique.items.map((i) => i.path[0] as string));
  const after = new Set(folded.items.map((i) => i.path[0] as string));
  return {
    records,
    sections: [...new Set(records.map((r) => r.record.thought))].sort(),
    stats: {
      packageStanzas: entries.length,
      packages: packages.length,
      skipped,
      invalidUtf8: { stanzas: invalid.length, first: invalid.slice(0, INVALID_NAMED) },
      sectionsBeforeFolding: before.size,
      minTrain,
      foldedSections: [...before].filter((s) => !after.has(s)).sort(),
      splits: countSplits(records),
      levels: levelStats(records.map((r) => ({ split: r.split, labels: [r.record.thought] }))),
    },
  };
}
