// Public API of the engine. Front ends (language server, CLI) import from here only.
export { Engine, type EngineInfo, type EngineOptions } from './engine';
export { isExecutionProvider, KNOWN_PROVIDERS, type DeviceChoice } from './runtime/devices';
export type { ExecutionProvider, BackendInfo } from './runtime/ort';
