// Limited-memory BFGS for smooth convex objectives (the regularised logistic loss). Full-batch
// and deterministic: the same data and options give the same weights, which keeps the recorded
// baselines reproducible, and on a convex problem it converges to the optimum without the
// learning-rate tuning a stochastic method would need.
//
// Line search: backtracking until the Armijo condition holds, trying the unit step first (the
// quasi-Newton direction is scaled so that step 1 is usually accepted). Curvature pairs with
// s·y ≤ 0 are skipped rather than stored, which keeps the implicit Hessian positive definite
// without a strong-Wolfe search.

/** Writes the gradient at x into grad and returns the objective's value at x. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Iteration cap (each iteration costs one or, rarely, a few objective evaluations). */
  maxIterations?: number;
  /** Stop when the largest gradient component falls below this. */
  gradientTolerance?: number;
  /** Stop when an iteration lowers the objective by less than this fraction of its value. */
  relativeTolerance?: number;
  /** Curvature pairs kept. */
  memory?: number;
  onIteration?: (iteration: number, value: number) => void;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  evaluations: number;
  reason: 'gradient' | 'relative' | 'iterations' | 'line search';
}

const ARMIJO = 1e-4;
const MAX_BACKTRACKS = 30;

type Vector = Float64Array | Float32Array;

function dot(a: Vector, b: Vector): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** The curvature pairs and the two-loop recursion that turns them into a search direction. */
class History {
  // float32 halves the history's memory (m pairs of D×C+C values: hundreds of MB for a large
  // vocabulary); the differences only shape the direction, the line search checks the step.
  private readonly s: Float32Array[] = [];
  private readonly y: Float32Array[] = [];
  private readonly rho: number[] = [];

  constructor(private readonly memory: number) {}

  /** Stores s = x_{k+1} - x_k, y = g_{k+1} - g_k if their curvature is positive. */
  push(s: Float32Array, y: Float32Array): void {
    const sy = dot(s, y);
    if (!(sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y)))) return;
    if (this.s.length === this.memory) {
      this.s.shift();
      this.y.shift();
      this.rho.shift();
    }
    this.s.push(s);
    this.y.push(y);
    this.rho.push(1 / sy);
  }

  get empty(): boolean {
    return this.s.length === 0;
  }

  clear(): void {
    this.s.length = 0;
    this.y.length = 0;
    this.rho.length = 0;
  }

  /** d = -H g, H the L-BFGS inverse-Hessian estimate with the usual s·y/y·y initial scaling. */
  direction(grad: Float64Array, out: Float64Array): void {
    out.set(grad);
    const k = this.s.length;
    const alpha = new Float64Array(k);
    for (let i = k - 1; i >= 0; i--) {
      alpha[i] = this.rho[i]! * dot(this.s[i]!, out);
      axpy(-alpha[i]!, this.y[i]!, out);
    }
    const gamma = k > 0 ? dot(this.s[k - 1]!, this.y[k - 1]!) / dot(this.y[k - 1]!, this.y[k - 1]!) : 1;
    for (let i = 0; i < out.length; i++) out[i]! *= gamma;
    for (let i = 0; i < k; i++) {
      const beta = this.rho[i]! * dot(this.y[i]!, out);
      axpy(alpha[i]! - beta, this.s[i]!, out);
    }
    for (let i = 0; i < out.length; i++) out[i] = -out[i]!;
  }
}

/** y += a x */
function axpy(a: number, x: Vector, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i]! += a * x[i]!;
}

export function minimizeLbfgs(objective: Objective, x0: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const maxIterations = options.maxIterations ?? 200;
  const gtol = options.gradientTolerance ?? 1e-6;
  const rtol = options.relativeTolerance ?? 1e-8;
  const n = x0.length;
  const x = Float64Array.from(x0);
  let grad = new Float64Array(n);
  let value = objective(x, grad);
  let evaluations = 1;
  const history = new History(options.memory ?? 10);
  const dir = new Float64Array(n);
  const trial = new Float64Array(n);
  let trialGrad = new Float64Array(n);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    if (maxAbs(grad) < gtol) return { x, value, iterations: iteration - 1, evaluations, reason: 'gradient' };
    history.direction(grad, dir);
    let slope = dot(grad, dir);
    if (!(slope < 0)) {
      // Rounding can spoil the estimate far into a run; steepest descent is always a descent direction.
      history.clear();
      history.direction(grad, dir);
      slope = dot(grad, dir);
    }
    // Without curvature information, a unit step along -g has the gradient's (arbitrary) scale.
    let step = history.empty ? Math.min(1, 1 / Math.sqrt(dot(grad, grad))) : 1;
    let accepted = false;
    let trialValue = value;
    for (let b = 0; b < MAX_BACKTRACKS; b++) {
      for (let i = 0; i < n; i++) trial[i] = x[i]! + step * dir[i]!;
      trialValue = objective(trial, trialGrad);
      evaluations++;
      if (Number.isFinite(trialValue) && trialValue <= value + ARMIJO * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) return { x, value, iterations: iteration, evaluations, reason: 'line search' };
    const s = new Float32Array(n);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = trial[i]! - x[i]!;
      y[i] = trialGrad[i]! - grad[i]!;
    }
    history.push(s, y);
    const previous = value;
    x.set(trial);
    [grad, trialGrad] = [trialGrad, grad];
    value = trialValue;
    options.onIteration?.(iteration, value);
    if (previous - value < rtol * Math.max(1, Math.abs(value))) return { x, value, iterations: iteration, evaluations, reason: 'relative' };
  }
  return { x, value, iterations: maxIterations, evaluations, reason: 'iterations' };
}
