// The rows of a task's per-example predictions file (evaluation.predictions.jsonl, `hdlm eval
// --predictions`), one per kind of task: written by the evaluations (evaluateTask.ts,
// evaluateThought.ts), read by the previous-evaluation comparison (evaluationHistory.ts), the
// mistakes list and the label report. Kept apart from the evaluations so those readers do not
// import them (which imported the readers back: an import cycle).
/** One variant's path for one example: its label per level, with its probability among its siblings. */
export interface PredictedPath {
  labels: string[];
  probabilities: number[];
  /** Exiting when sure: the layer that decided each level (absent for fixed layers: the variant's own). */
  layers?: number[];
}

/** What each variant decided for one example: the rows `hdlm eval --predictions` writes. */
export interface ExamplePrediction {
  /** The record's id in the dataset file. */
  id: string;
  gold: string[];
  hdlm: PredictedPath;
  flat: PredictedPath;
}

/** One example as `hdlm eval --predictions` writes it for a thought-then-answer task. */
export interface ThoughtPrediction {
  /** The record's id in the dataset file. */
  id: string;
  gold: { thought: string; answer: string };
  /**
   * HdLM's greedy thought and answer, the thought layer's probability of its whole thought
   * (closing token included), and whether each was right (exact match, trimmed, case-folded).
   */
  hdlm: { thought: string; answer: string; thoughtProbability: number; thoughtRight: boolean; answerRight: boolean };
  flat: { answer: string; answerRight: boolean };
  /**
   * The gold answer's NLL in nats per token (teacher-forced, as the record's `answerNll`) after
   * HdLM's thought, after the gold thought and with none (flat), over `tokens` answer tokens;
   * absent where the heads cannot produce the answer.
   */
  answerNll?: { hdlm: number; gold: number; flat: number; tokens: number };
}
