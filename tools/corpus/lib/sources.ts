// The corpus sources: which Debian package, which of its files, which cleaner. Each source
// yields documents in a fixed order (files sorted by path), so the build is deterministic given
// the installed package versions, which stats.json records.
import { basename } from 'node:path';
import { decodeAptList, InvalidStanza } from '../../data/lib/aptLists';
import { UsageError } from './args';
import { packageFilesUnder, readAptList, readPackageFile, SourceError, translationIndexes } from './debian';
import { descriptionDocument, parseTranslations } from './descriptions';
import { cleanGcideEntry, gcideBlocks } from './gcide';
import { cleanPod } from './pod';
import { cleanRoff } from './roff';
import { cleanRst } from './rst';
import { plainTextBlocks, renderBlocks } from './text';

export interface SourceDocument {
  /** Where the document came from, e.g. a path inside the package, for stats and debugging. */
  id: string;
  text: string;
}

export interface CorpusSource {
  name: string;
  /** Debian packages that must be installed. */
  packages: readonly string[];
  licence: string;
  /** Whether the source is used when --sources is not given, and why not if it is not. */
  byDefault: boolean;
  note: string;
  /** `onInvalid` hears of each record left out because its bytes are not UTF-8 (apt lists only). */
  documents(onInvalid: (record: InvalidStanza) => void): Iterable<SourceDocument>;
}

const LINUX_DOC = 'linux-doc-6.1';
const LINUX_DOC_ROOT = `/usr/share/doc/${LINUX_DOC}/Documentation/`;

function* linuxDocuments(): Iterable<SourceDocument> {
  const files = packageFilesUnder(LINUX_DOC, LINUX_DOC_ROOT, /\.(rst|txt)(\.gz)?$/);
  for (const path of files) {
    // Translations are not English; an English model's vocabulary should not pay for them.
    if (path.startsWith(`${LINUX_DOC_ROOT}translations/`)) continue;
    const src = readPackageFile(path, LINUX_DOC);
    const text = /\.rst(\.gz)?$/.test(path) ? cleanRst(src) : renderBlocks(plainTextBlocks(src));
    yield { id: path.slice(LINUX_DOC_ROOT.length), text };
  }
}

const PYTHON_DOC = 'python3.11-doc';
const PYTHON_DOC_ROOT = '/usr/share/doc/python3.11/html/_sources/';

function* pythonDocuments(): Iterable<SourceDocument> {
  // The reST sources Sphinx ships beside the HTML are the originals; the HTML adds only layout.
  for (const path of packageFilesUnder(PYTHON_DOC, PYTHON_DOC_ROOT, /\.rst\.txt$/)) {
    yield { id: path.slice(PYTHON_DOC_ROOT.length), text: cleanRst(readPackageFile(path, PYTHON_DOC)) };
  }
}

const PERL_DOC = 'perl-doc';
/** A table of contents and a table of Unicode property names: lists, not text. */
const PERL_SKIPPED = new Set(['perltoc.pod', 'perluniprops.pod']);

const PERL_MODULES = 'perl-modules-5.36';

function* perlDocuments(): Iterable<SourceDocument> {
  for (const path of packageFilesUnder(PERL_DOC, '/usr/share/perl/', /\/pod\/[^/]+\.pod$/)) {
    if (PERL_SKIPPED.has(basename(path))) continue;
    yield { id: basename(path), text: cleanPod(readPackageFile(path, PERL_DOC)) };
  }
  // The core modules document themselves in POD inside their .pm files; the code is skipped.
  for (const path of packageFilesUnder(PERL_MODULES, '/usr/share/perl/', /\.(pm|pod)$/)) {
    yield { id: path.replace(/^\/usr\/share\/perl\/[^/]+\//, ''), text: cleanPod(readPackageFile(path, PERL_MODULES)) };
  }
}

const MAN_PACKAGES = ['manpages', 'manpages-dev'];

function* manDocuments(): Iterable<SourceDocument> {
  for (const pkg of MAN_PACKAGES) {
    // English pages only: /usr/share/man/manN/, not /usr/share/man/<locale>/manN/.
    for (const path of packageFilesUnder(pkg, '/usr/share/man/man', /\/man\d\/[^/]+\.gz$/)) {
      const text = cleanRoff(readPackageFile(path, pkg));
      if (text !== null) yield { id: basename(path, '.gz'), text };
    }
  }
}

const GCIDE = 'dict-gcide';
const GCIDE_DICT = '/usr/share/dictd/gcide.dict.dz';

function* gcideDocuments(): Iterable<SourceDocument> {
  const blocks = gcideBlocks(readPackageFile(GCIDE_DICT, GCIDE));
  let entries = 0;
  for (let i = 0; i < blocks.length; i++) {
    const text = cleanGcideEntry(blocks[i]!);
    if (text === null) continue;
    entries++;
    yield { id: `entry ${i}`, text };
  }
  if (entries < 1000) throw new SourceError(`${GCIDE_DICT} gave only ${entries} dictionary entries: has its format changed?`);
}

function* descriptionDocuments(onInvalid: (record: InvalidStanza) => void): Iterable<SourceDocument> {
  for (const path of translationIndexes()) {
    const { text, invalid } = decodeAptList(readAptList(path), path);
    invalid.forEach(onInvalid);
    for (const d of parseTranslations(text)) yield { id: d.name, text: descriptionDocument(d) };
  }
}

/** All sources, in the order their documents are read (and deduplicated: the first copy wins). */
export const SOURCES: readonly CorpusSource[] = [
  {
    name: 'linux-doc',
    packages: [LINUX_DOC],
    licence: 'GPL-2 (some files GPL-2+ / dual-licensed; see /usr/share/doc/linux-doc-6.1/copyright)',
    byDefault: true,
    note: 'Documentation/**/*.rst and *.txt, without translations/; reST cleaned, plain text unwrapped',
    documents: linuxDocuments,
  },
  {
    name: 'python-doc',
    packages: [PYTHON_DOC],
    licence: 'PSF-2.0 (Python Software Foundation License; see /usr/share/doc/python3.11-doc/copyright)',
    byDefault: true,
    note: 'html/_sources/**/*.rst.txt (the reST originals)',
    documents: pythonDocuments,
  },
  {
    name: 'perl-doc',
    packages: [PERL_DOC, PERL_MODULES],
    licence: 'GPL-1+ or Artistic (see /usr/share/doc/perl-doc/copyright)',
    byDefault: true,
    note: 'perl-doc pod/*.pod without perltoc and perluniprops, and the POD in perl-modules-5.36 .pm files',
    documents: perlDocuments,
  },
  {
    name: 'manpages',
    packages: MAN_PACKAGES,
    licence: 'various free licences per page (Linux-man-pages-copyleft, GPL-2+, BSD, MIT; see /usr/share/doc/manpages/copyright)',
    byDefault: true,
    note: 'English man pages of the Linux man-pages project (sections 1-8); .so link pages skipped',
    documents: manDocuments,
  },
  {
    name: 'gcide',
    packages: [GCIDE],
    licence: 'GPL-2+ (GCIDE; see /usr/share/doc/dict-gcide/copyright)',
    byDefault: true,
    note: 'one document per dictionary entry; senses taken from WordNet are dropped',
    documents: gcideDocuments,
  },
  {
    name: 'debian-descriptions',
    packages: ['apt'],
    licence: "each package's own licence (descriptions are part of Debian's archive metadata)",
    byDefault: false,
    note:
      'off by default: the package-description datasets (description → section → synopsis) are built from ' +
      'the same text, and pretraining on it would leak their test sets into the model',
    documents: descriptionDocuments,
  },
];

/** The sources named in a comma-separated list ('default' and 'all' are shorthands). */
export function selectSources(list: string): CorpusSource[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const chosen = new Set<string>();
  for (const name of names) {
    if (name === 'default') SOURCES.filter((s) => s.byDefault).forEach((s) => chosen.add(s.name));
    else if (name === 'all') SOURCES.forEach((s) => chosen.add(s.name));
    else if (SOURCES.some((s) => s.name === name)) chosen.add(name);
    else throw new UsageError(`unknown source '${name}'; known: ${SOURCES.map((s) => s.name).join(', ')}, default, all`);
  }
  return SOURCES.filter((s) => chosen.has(s.name));
}
