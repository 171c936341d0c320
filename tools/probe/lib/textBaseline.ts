// A text classifier baseline: bag-of-words or TF-IDF features + logistic regression, the L2
// strength tuned on dev. Shared by baselines.ts and linearProbe.ts (which compares against it).
import type { SparseMatrix } from './matrix';
import { majorityAccuracy } from './metrics';
import { bagOfWords, buildVocabulary, ngrams, tfidf, tokenize } from './textFeatures';
import { tuneAndTest, type GridPoint } from './tune';

export type TextFeatureKind = 'tfidf' | 'bow';

/**
 * Default L2 grid for text features (λ on the mean loss; 1/(λN) is scikit-learn's C). Wide on
 * both ends: l2-normalised TF-IDF with tens of thousands of items wants little penalty (around
 * 1e-6), raw counts of long Debian descriptions much more (around 1e-4).
 */
export const TEXT_L2_GRID = '1e-3,3e-4,1e-4,3e-5,1e-5,3e-6,1e-6,3e-7,1e-7';

export interface TextSplits<T> {
  train: T;
  dev: T;
  test: T;
}

export interface TextFeatureOptions {
  kind: TextFeatureKind;
  minDocuments: number;
  /** 1: words; 2: words and word bigrams. */
  ngramMax: number;
}

/** Features of the three splits over a vocabulary counted on the training texts only. */
export function textFeatures(texts: TextSplits<readonly string[]>, options: TextFeatureOptions): TextSplits<SparseMatrix> & { vocabulary: number } {
  const docs = (list: readonly string[]): string[][] => list.map((t) => ngrams(tokenize(t), options.ngramMax));
  const train = docs(texts.train);
  const vocab = buildVocabulary(train, { minDocuments: options.minDocuments });
  const encode = options.kind === 'tfidf' ? tfidf : bagOfWords;
  return { train: encode(train, vocab), dev: encode(docs(texts.dev), vocab), test: encode(docs(texts.test), vocab), vocabulary: vocab.terms.length };
}

export interface BaselineScore {
  classes: number;
  sizes: { train: number; dev: number; test: number };
  features: number;
  majorityAccuracy: number;
  l2: number;
  testAccuracy: number;
  testMacroF1: number;
  grid: GridPoint[];
  seconds: number;
}

/** One line of `baselines.js --predictions`: a test item, its gold labels, and each baseline's label per level it ran. */
export interface BaselinePrediction {
  dataset: string;
  id: string;
  gold: string[];
  tfidf: string[];
  bow: string[];
}

export interface ScoreOptions {
  grid: readonly number[];
  maxIterations: number;
  /** See TuneOptions.patience. */
  patience?: number | undefined;
  onPoint?: (point: GridPoint) => void;
}

/**
 * Tunes on dev, scores on test, and puts the majority-class accuracy beside it; `testPredicted`
 * is the chosen model's class for each test item.
 */
export function scoreBaseline(x: TextSplits<SparseMatrix>, y: TextSplits<Int32Array>, classes: number, options: ScoreOptions): BaselineScore & { testPredicted: Int32Array } {
  const tuned = tuneAndTest({ x: x.train, y: y.train }, { x: x.dev, y: y.dev }, { x: x.test, y: y.test }, classes, options);
  return {
    classes,
    sizes: { train: x.train.rows, dev: x.dev.rows, test: x.test.rows },
    features: x.train.cols,
    majorityAccuracy: majorityAccuracy(y.train, y.test, classes),
    l2: tuned.l2,
    testAccuracy: tuned.testAccuracy,
    testMacroF1: tuned.testMacroF1,
    grid: tuned.grid,
    seconds: Number(tuned.seconds.toFixed(1)),
    testPredicted: tuned.testPredicted,
  };
}
