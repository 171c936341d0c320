// A small builder for ONNX graphs on top of onnx-proto's generated protobuf classes. The engine
// writes its graphs itself (no Python converter); this module only knows ONNX, not models.
import { onnx } from 'onnx-proto';

/** Element types the engine emits. Values are ONNX TensorProto.DataType codes. */
export const DType = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  uint8: onnx.TensorProto.DataType.UINT8,
} as const;
export type DTypeCode = (typeof DType)[keyof typeof DType];

/** A dimension is a fixed size or a symbolic name such as 'batch' or 'seq'. */
export type Dim = number | string;

export interface ValueSpec {
  name: string;
  type: DTypeCode;
  dims: readonly Dim[];
}

/**
 * Attribute values. A plain number is an INT when it is integral; wrap a float that happens to be
 * integral (an epsilon of 1, a scale of 2) as `{ float: 1 }` so it is not encoded as an INT.
 */
export type AttributeValue = number | { float: number } | string | readonly number[] | Float32Array;

/**
 * A float32 weight whose values are computed only when they are needed. `key` says what the
 * values are (for one checkpoint, one key always means the same values), so a cache that holds
 * a weight under its key never computes it: at Qwen2.5-0.5B's shapes, converting a 12-layer
 * segment's weights took 3.3–3.7 s of its build (2026-12-07), and a level moved to another layer
 * asks for the same weights cut differently.
 */
export interface DeferredWeight {
  key: string;
  produce(): Float32Array;
}

/**
 * A built graph whose deferred initializers have no data yet: `deferred` holds them by name.
 * `materialize` gives the plain model; GraphCache reads or writes each by its key instead.
 */
export interface BuiltGraph {
  model: onnx.IModelProto;
  deferred?: ReadonlyMap<string, DeferredWeight>;
}

/** The default opset; 17 is the newest that onnx-proto's IR 8 models run with on ORT 1.30. */
export const DEFAULT_OPSET = 17;

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly domains = new Map<string, number>([['', DEFAULT_OPSET]]);
  private readonly constants = new Map<string, string>();
  private readonly deferred = new Map<string, DeferredWeight>();
  private counter = 0;

  constructor(private readonly name: string) {}

  input(spec: ValueSpec): string {
    this.inputs.push(valueInfo(spec));
    return spec.name;
  }

  output(spec: ValueSpec): void {
    this.outputs.push(valueInfo(spec));
  }

  /** Adds a float32 weight (kept by reference until the model is serialised or stored). */
  initializer(name: string, data: Float32Array, dims: readonly number[]): string {
    return this.rawInitializer(name, DType.float32, data, dims);
  }

  /** Adds a uint8 weight (packed quantized codes), kept by reference as float32 weights are. */
  uint8Initializer(name: string, data: Uint8Array, dims: readonly number[]): string {
    return this.rawInitializer(name, DType.uint8, data, dims);
  }

  /** Adds a float32 weight computed only when a graph needs its values (DeferredWeight). */
  deferredInitializer(name: string, key: string, dims: readonly number[], produce: () => Float32Array): string {
    this.initializers.push({ name, dataType: DType.float32, dims: [...dims] });
    this.deferred.set(name, { key, produce });
    return name;
  }

  /** A weight stored as raw little-endian bytes, its element count checked against `dims`. */
  private rawInitializer(name: string, dataType: DTypeCode, data: Float32Array | Uint8Array, dims: readonly number[]): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (expected !== data.length) {
      throw new Error(`initializer ${name}: ${data.length} values for shape [${dims.join(',')}] (${expected} expected)`);
    }
    this.initializers.push({ name, dataType, dims: [...dims], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** Adds an int64 constant (shapes, axes, split sizes); equal constants are shared. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = `const_${this.constants.size}`;
    this.initializers.push({ name, dataType: DType.int64, dims: [...dims], int64Data: [...values] });
    this.constants.set(key, name);
    return name;
  }

  /** Adds a float32 scalar constant; equal constants are shared. */
  scalar(value: number): string {
    const key = `f32:${value}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = `const_${this.constants.size}`;
    this.initializers.push({ name, dataType: DType.float32, dims: [], floatData: [value] });
    this.constants.set(key, name);
    return name;
  }

  /**
   * Adds a node and returns its output names. Outputs get fresh names unless given, so call
   * sites read like expressions: `const y = g.op('MatMul', [x, w])[0]`.
   */
  op(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, AttributeValue> = {},
    options: { outputs?: readonly string[]; outputCount?: number; domain?: string; opsetVersion?: number } = {},
  ): string[] {
    const domain = options.domain ?? '';
    if (domain !== '' && !this.domains.has(domain)) this.domains.set(domain, options.opsetVersion ?? 1);
    const outputs = options.outputs
      ? [...options.outputs]
      : Array.from({ length: options.outputCount ?? 1 }, () => `${opType.toLowerCase()}_${this.counter++}`);
    this.nodes.push({
      opType,
      domain,
      name: `${opType}_${this.nodes.length}`,
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return outputs;
  }

  /** Serialises the model. */
  build(): Uint8Array {
    return encodeModel(this.model());
  }

  /** The model with every weight's values, deferred ones computed now. */
  model(): onnx.IModelProto {
    return materialize(this.built());
  }

  /**
   * The model, not yet serialised, its deferred weights apart: the other weights are the arrays
   * given, not copies. GraphCache writes the large ones to their own files from here; serialising
   * them into one buffer first took a third of a segment's build at Qwen2.5-0.5B's shapes. IR 8
   * is the newest onnx-proto knows.
   */
  built(): BuiltGraph {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'hdlm-engine',
      opsetImport: [...this.domains].map(([domain, version]) => ({ domain, version })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return { model, deferred: new Map(this.deferred) };
  }
}

/** The model with its deferred weights' values computed and checked against their shapes. */
export function materialize({ model, deferred }: BuiltGraph): onnx.IModelProto {
  if (!deferred?.size) return model;
  const initializer = (model.graph?.initializer ?? []).map((t) => {
    const weight = t.name ? deferred.get(t.name) : undefined;
    return weight ? { ...t, rawData: deferredBytes(t, weight) } : t;
  });
  return { ...model, graph: { ...model.graph, initializer } };
}

/** A deferred weight's values as raw bytes, their count checked against the tensor's dims. */
export function deferredBytes(tensor: onnx.ITensorProto, weight: DeferredWeight): Uint8Array {
  const data = weight.produce();
  const expected = (tensor.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
  if (data.length !== expected) throw new Error(`initializer ${tensor.name}: ${data.length} values for shape [${(tensor.dims ?? []).join(',')}] (${expected} expected)`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

function valueInfo(spec: ValueSpec): onnx.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: spec.type,
        shape: { dim: spec.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: A.INT, i: value } : { name, type: A.FLOAT, f: value };
  }
  if ('float' in value) return { name, type: A.FLOAT, f: value.float };
  if (value instanceof Float32Array) return { name, type: A.FLOATS, floats: Array.from(value) };
  return { name, type: A.INTS, ints: [...value] };
}
