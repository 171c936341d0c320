// The sharpest check that training and inference see the same function of the hidden state: a
// saved head, run the way inference runs it (its own graph, norm included), on the dev features
// must give the dev loss the trainer recorded for its best epoch.
import type { Checkpoint } from '../../engine/src/checkpoint/types';
import type { LayerFeatures } from '../../engine/src/hdlm/layerFeatures';
import { loadHead } from '../../engine/src/hdlm/headStore';
import type { HeadReport } from '../../engine/src/hdlm/trainTypes';
import { LanguageHead } from '../../engine/src/model/languageHead';

/** |mean cross-entropy over the head's vocabulary subset − the trainer's recorded dev loss|. */
export async function savedHeadLossGap(headsDir: string, head: HeadReport, checkpoint: Checkpoint, features: LayerFeatures): Promise<number> {
  const { manifest, weights } = loadHead(headsDir, head.name, checkpoint);
  const lm = await LanguageHead.create(weights, { provider: 'cpu', threads: 1, fused: true });
  try {
    const V = weights.vocabSize;
    const logits = await lm.logits(features.hidden);
    const subset = manifest.vocabSubset!;
    let loss = 0;
    features.targets.forEach((target, row) => {
      const scores = subset.map((id) => logits[row * V + id]!);
      const max = Math.max(...scores);
      const logSum = max + Math.log(scores.reduce((a, x) => a + Math.exp(x - max), 0));
      loss += logSum - logits[row * V + target]!;
    });
    return Math.abs(loss / features.targets.length - head.epochs[head.bestEpoch - 1]!.devLoss);
  } finally {
    await lm.release();
  }
}
