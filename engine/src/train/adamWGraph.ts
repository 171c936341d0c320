// AdamW as graph nodes, so the optimiser step runs in the same session as the backward pass and
// parameters never round-trip through JavaScript to be updated. The formula is PyTorch's
// torch.optim.AdamW (decoupled weight decay, bias correction folded into the step size):
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)
import { DType, GraphBuilder } from '../onnx/graph';

/** Graph inputs of the optimiser, all float32 scalars (shape []). */
export const AdamWIO = {
  /** 1-based number of the step being taken; float so that β^t is one Pow. */
  step: 't',
  lr: 'lr',
  beta1: 'beta1',
  beta2: 'beta2',
  eps: 'adam_eps',
  weightDecay: 'weight_decay',
} as const;

/** Per-step scalars shared by every parameter's update (names of [] tensors in the graph). */
export interface AdamWScalars {
  beta1: string;
  beta2: string;
  oneMinusBeta1: string;
  oneMinusBeta2: string;
  /** lr / (1 − β1^t). */
  stepSize: string;
  /** √(1 − β2^t). */
  sqrtCorrection2: string;
  eps: string;
  /** 1 − lr·wd. */
  decayFactor: string;
}

/** One parameter's tensors (names), all of the same shape. */
export interface AdamWState {
  param: string;
  m: string;
  v: string;
}

export function declareAdamWInputs(g: GraphBuilder): void {
  for (const name of Object.values(AdamWIO)) g.input({ name, type: DType.float32, dims: [] });
}

export function adamWScalars(g: GraphBuilder): AdamWScalars {
  const one = g.scalar(1);
  const { step, lr, beta1, beta2, eps, weightDecay } = AdamWIO;
  const correction1 = g.op('Sub', [one, g.op('Pow', [beta1, step])[0]!])[0]!;
  const correction2 = g.op('Sub', [one, g.op('Pow', [beta2, step])[0]!])[0]!;
  return {
    beta1,
    beta2,
    oneMinusBeta1: g.op('Sub', [one, beta1])[0]!,
    oneMinusBeta2: g.op('Sub', [one, beta2])[0]!,
    stepSize: g.op('Div', [lr, correction1])[0]!,
    sqrtCorrection2: g.op('Sqrt', [correction2])[0]!,
    eps,
    decayFactor: g.op('Sub', [one, g.op('Mul', [lr, weightDecay])[0]!])[0]!,
  };
}

/**
 * Appends one parameter's update. `decay` selects decoupled weight decay (matrices yes, norm
 * weights and biases no). `names` gives the outputs fixed names (graph outputs); without it they
 * are fresh intermediates.
 */
export function adamWUpdate(
  g: GraphBuilder,
  s: AdamWScalars,
  state: AdamWState,
  grad: string,
  decay: boolean,
  names?: AdamWState,
): AdamWState {
  const out = (name: string | undefined) => (name === undefined ? {} : { outputs: [name] });
  const m = g.op('Add', [g.op('Mul', [state.m, s.beta1])[0]!, g.op('Mul', [grad, s.oneMinusBeta1])[0]!], {}, out(names?.m))[0]!;
  const gradSquared = g.op('Mul', [grad, grad])[0]!;
  const v = g.op('Add', [g.op('Mul', [state.v, s.beta2])[0]!, g.op('Mul', [gradSquared, s.oneMinusBeta2])[0]!], {}, out(names?.v))[0]!;
  const denom = g.op('Add', [g.op('Div', [g.op('Sqrt', [v])[0]!, s.sqrtCorrection2])[0]!, s.eps])[0]!;
  const delta = g.op('Mul', [g.op('Div', [m, denom])[0]!, s.stepSize])[0]!;
  const decayed = decay ? g.op('Mul', [state.param, s.decayFactor])[0]! : state.param;
  const param = g.op('Sub', [decayed, delta], {}, out(names?.param))[0]!;
  return { param, m, v };
}
