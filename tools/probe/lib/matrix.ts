// Feature matrices for the probe and the baselines, as flat typed arrays: a few million nonzeros
// or a few tens of millions of floats would cost several times their size as JavaScript objects.

/** Row-major [rows, cols] float32 features (hidden states). */
export interface DenseMatrix {
  readonly kind: 'dense';
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/**
 * Compressed sparse rows: row i's nonzeros are indices/values[indptr[i] .. indptr[i+1]), with
 * column indices ascending inside a row (bag-of-words and TF-IDF).
 */
export interface SparseMatrix {
  readonly kind: 'sparse';
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

export type Features = DenseMatrix | SparseMatrix;

export function denseMatrix(rows: number, cols: number, data?: Float32Array): DenseMatrix {
  const values = data ?? new Float32Array(rows * cols);
  if (values.length !== rows * cols) throw new Error(`denseMatrix: ${values.length} values for [${rows}, ${cols}]`);
  return { kind: 'dense', rows, cols, data: values };
}

/** Builds CSR from per-row (column → value) lists; columns are sorted here. */
export function sparseFromRows(rows: readonly (readonly [number, number][])[], cols: number): SparseMatrix {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((row, i) => (indptr[i + 1] = indptr[i]! + row.length));
  const indices = new Int32Array(indptr[rows.length]!);
  const values = new Float32Array(indptr[rows.length]!);
  rows.forEach((row, i) => {
    const sorted = [...row].sort((a, b) => a[0] - b[0]);
    sorted.forEach(([col, value], k) => {
      if (col < 0 || col >= cols) throw new Error(`sparseFromRows: column ${col} outside 0..${cols - 1}`);
      indices[indptr[i]! + k] = col;
      values[indptr[i]! + k] = value;
    });
  });
  return { kind: 'sparse', rows: rows.length, cols, indptr, indices, values };
}

/** The same data as a dense matrix (tests compare the two training paths with it). */
export function sparseToDense(m: SparseMatrix): DenseMatrix {
  const out = denseMatrix(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) {
    for (let k = m.indptr[i]!; k < m.indptr[i + 1]!; k++) out.data[i * m.cols + m.indices[k]!] = m.values[k]!;
  }
  return out;
}

/** The rows `pick` (in that order) of a matrix. */
export function selectRows(m: Features, pick: readonly number[]): Features {
  if (m.kind === 'dense') {
    const data = new Float32Array(pick.length * m.cols);
    pick.forEach((r, i) => data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
    return denseMatrix(pick.length, m.cols, data);
  }
  const indptr = new Int32Array(pick.length + 1);
  pick.forEach((r, i) => (indptr[i + 1] = indptr[i]! + m.indptr[r + 1]! - m.indptr[r]!));
  const indices = new Int32Array(indptr[pick.length]!);
  const values = new Float32Array(indptr[pick.length]!);
  pick.forEach((r, i) => {
    indices.set(m.indices.subarray(m.indptr[r]!, m.indptr[r + 1]!), indptr[i]!);
    values.set(m.values.subarray(m.indptr[r]!, m.indptr[r + 1]!), indptr[i]!);
  });
  return { kind: 'sparse', rows: pick.length, cols: m.cols, indptr, indices, values };
}

export interface Standardizer {
  mean: Float64Array;
  scale: Float64Array;
}

/**
 * Per-column mean and 1/std of the training features. Hidden states have a few very large
 * dimensions (outlier features are common in transformers); without scaling, one L2 strength
 * cannot suit all columns and L-BFGS needs many more iterations.
 */
export function fitStandardizer(m: DenseMatrix): Standardizer {
  const mean = new Float64Array(m.cols);
  const sq = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.cols; j++) {
      const v = m.data[i * m.cols + j]!;
      mean[j] += v;
      sq[j] += v * v;
    }
  }
  const scale = new Float64Array(m.cols);
  for (let j = 0; j < m.cols; j++) {
    mean[j] /= Math.max(1, m.rows);
    const variance = sq[j]! / Math.max(1, m.rows) - mean[j]! * mean[j]!;
    // A constant column gets scale 1: it then stays 0 after centring and carries no weight.
    scale[j] = variance > 1e-12 ? 1 / Math.sqrt(variance) : 1;
  }
  return { mean, scale };
}

export function applyStandardizer(m: DenseMatrix, s: Standardizer): DenseMatrix {
  const data = new Float32Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.cols; j++) data[i * m.cols + j] = (m.data[i * m.cols + j]! - s.mean[j]!) * s.scale[j]!;
  }
  return denseMatrix(m.rows, m.cols, data);
}
