// Classification metrics, over integer class ids.

export function accuracy(truth: Int32Array, predicted: Int32Array): number {
  if (truth.length !== predicted.length) throw new Error(`accuracy: ${truth.length} labels, ${predicted.length} predictions`);
  let right = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) right++;
  return truth.length === 0 ? 0 : right / truth.length;
}

/** counts[t * classes + p]: items of true class t predicted as p. */
export function confusion(truth: Int32Array, predicted: Int32Array, classes: number): Int32Array {
  const counts = new Int32Array(classes * classes);
  for (let i = 0; i < truth.length; i++) counts[truth[i]! * classes + predicted[i]!]!++;
  return counts;
}

/**
 * Unweighted mean of the per-class F1 over the classes that occur in the truth or in the
 * predictions (as scikit-learn's default does): a class absent from both says nothing about this
 * split, while a class only ever predicted wrongly counts with F1 = 0.
 */
export function macroF1FromConfusion(counts: Int32Array, classes: number): number {
  let sum = 0;
  let present = 0;
  for (let c = 0; c < classes; c++) {
    let actual = 0;
    let predicted = 0;
    for (let k = 0; k < classes; k++) {
      actual += counts[c * classes + k]!;
      predicted += counts[k * classes + c]!;
    }
    const truePositive = counts[c * classes + c]!;
    if (actual === 0 && predicted === 0) continue;
    present++;
    sum += (2 * truePositive) / (actual + predicted);
  }
  return present === 0 ? 0 : sum / present;
}

export function macroF1(truth: Int32Array, predicted: Int32Array, classes: number): number {
  return macroF1FromConfusion(confusion(truth, predicted, classes), classes);
}

/** The most frequent class (lowest id on ties). */
export function majorityClass(labels: Int32Array, classes: number): number {
  const counts = new Int32Array(classes);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  let best = 0;
  for (let c = 1; c < classes; c++) if (counts[c]! > counts[best]!) best = c;
  return best;
}

/** Accuracy of always answering the training split's most frequent class. */
export function majorityAccuracy(train: Int32Array, test: Int32Array, classes: number): number {
  return accuracy(test, new Int32Array(test.length).fill(majorityClass(train, classes)));
}
