// Model shapes the benchmark measures, as Hugging Face config.json fields.

/** Qwen2.5-0.5B's exact shapes (its published config.json), with random weights. */
export const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  vocab_size: 151936,
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  max_position_embeddings: 32768,
  rope_theta: 1000000.0,
  rms_norm_eps: 1e-6,
  hidden_act: 'silu',
  tie_word_embeddings: true,
  use_sliding_window: false,
  bos_token_id: 151643,
  eos_token_id: 151643,
  torch_dtype: 'bfloat16',
} as const;
