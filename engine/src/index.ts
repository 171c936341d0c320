// Public API of the engine. Front ends (language server, CLI) import from here only.
export { Engine, type EngineInfo, type EngineOptions } from './engine';
export { isExecutionProvider, KNOWN_PROVIDERS, type DeviceChoice } from './runtime/devices';
export { capThreads, MAX_THREADS } from './runtime/threads';
export type { ExecutionProvider, BackendInfo } from './runtime/ort';
export { LoadedModel, type LoadModelOptions } from './loadedModel';
export { loadCheckpoint, CheckpointError } from './checkpoint/checkpoint';
export type { Checkpoint, ModelConfig } from './checkpoint/types';
export { Tokenizer } from './tokenizer';
export { SegmentedModel, CancelledError } from './model/segmentedModel';
export { ContextOverflowError } from './model/contextOverflow';
export { readoutAllLayers, topTokens, type LayerReadout } from './model/readout';
export { generate, type GenerateRequest, type GenerateResult, type TokenEvent } from './generate/generator';
export type { GenerationConfig } from './generate/config';
