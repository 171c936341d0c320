// What the engine knows about a checkpoint once its folder has been read: a normalised model
// configuration (the same fields whatever the Hugging Face model_type), the weights, the
// tokenizer and generation defaults. Graph builders depend on these types only.

/** Families of decoder that the graph builders know. Several model_types map to one family. */
export type ArchFamily = 'llama' | 'gpt2';

export interface ModelConfig {
  /** The Hugging Face `model_type` as written in config.json (llama, qwen2, qwen3, mistral, gpt2). */
  modelType: string;
  family: ArchFamily;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); equals numHeads without GQA. */
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  /** Epsilon of the RMS norm (llama family) or layer norm (gpt2). */
  normEps: number;
  /** Rotary base (llama family); 0 for learned absolute positions (gpt2). */
  ropeTheta: number;
  /** How the rotary frequencies are rescaled for a longer context (llama family); absent: plain RoPE. */
  ropeScaling?: RopeScaling;
  /** The longest input, in positions, the engine gives this model. */
  maxPositions: number;
  /**
   * What sets maxPositions, for errors about too long an input: "max_position_embeddings",
   * "sliding_window 4096", the engine's own bound (config.ts ROTARY_POSITION_LIMIT).
   */
  maxPositionsFrom?: string;
  /** q/k/v projections have biases (qwen2, gpt2). */
  attentionBias: boolean;
  /** Each head's queries and keys are RMS-normalised (own weight [head_dim]) before RoPE (qwen3). */
  qkNorm?: boolean;
  /** The output head shares the token embedding matrix. */
  tieWordEmbeddings: boolean;
  /** MLP activation: 'silu' (llama family) or 'gelu_new' (gpt2). */
  activation: 'silu' | 'gelu_new';
  bosTokenId: number | undefined;
  eosTokenIds: number[];
  padTokenId: number | undefined;
}

/**
 * The rotary scalings that only rescale the frequencies, once, whatever the sequence length:
 * transformers' `linear` (every frequency divided by the factor) and `llama3` (Llama 3.1 and
 * later: long wavelengths divided by the factor, short ones kept, the band between blended).
 */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export type DTypeName = 'F32' | 'F16' | 'BF16';

/** A tensor stored as 16-bit floats, with its bits as stored. */
export interface HalfTensor {
  dtype: 'F16' | 'BF16';
  bits: Uint16Array;
}

/** Read access to a checkpoint's tensors, converted to float32 on read. */
export interface WeightStore {
  names(): string[];
  has(name: string): boolean;
  /** Shape as stored, without reading data; undefined when absent. */
  shape(name: string): number[] | undefined;
  dtype(name: string): DTypeName | undefined;
  /**
   * The tensor as float32. Throws an error naming the file, the tensor and both shapes when
   * the tensor is missing or its shape differs from `expectedShape`.
   */
  get(name: string, expectedShape: readonly number[]): Float32Array;
  /**
   * A tensor stored as 16-bit floats, as stored (checked like get); undefined when it is stored
   * as float32, or the store cannot say. For tables read a row at a time (token embeddings),
   * where keeping the checkpoint's own precision halves their memory.
   */
  getHalves?(name: string, expectedShape: readonly number[]): HalfTensor | undefined;
}

export interface GenerationDefaults {
  eosTokenIds: number[];
  bosTokenId: number | undefined;
  padTokenId: number | undefined;
  maxNewTokens: number | undefined;
  /** transformers' max_length: prompt and output together (max_new_tokens wins when both are set). */
  maxLength: number | undefined;
  temperature: number | undefined;
  topK: number | undefined;
  topP: number | undefined;
  doSample: boolean | undefined;
  /** transformers' repetition_penalty (1: off). */
  repetitionPenalty: number | undefined;
  /** transformers' no_repeat_ngram_size (0: off). */
  noRepeatNgramSize: number | undefined;
  /** num_beams: read so that a request for beam search can be reported as not followed. */
  numBeams: number | undefined;
}

export interface Checkpoint {
  /** Absolute path of the model folder. */
  dir: string;
  config: ModelConfig;
  weights: WeightStore;
  /** Absolute path of tokenizer.json, or undefined when the folder has none. */
  tokenizerPath: string | undefined;
  generation: GenerationDefaults;
  /** sha256 over config.json and the weight files' contents: keys caches and head manifests. */
  fingerprint: string;
}
