// The rows head training reads from the frozen backbone: produced by features.ts, kept and read
// back by featureCache.ts, turned into training rows by headRows.ts. Its own module so the cache
// does not import the extractor that imports it (an import cycle).
/** Hidden states [N, H] of one level's label tokens read at one layer, and the token each must predict. */
export interface LayerFeatures {
  /** Taxonomy level (1-based) whose label tokens these are. */
  level: number;
  layer: number;
  hidden: Float32Array; // [N, H]
  targets: Int32Array; // [N] token ids
  /** Which example each row came from (index into the records). */
  example: Int32Array; // [N]
}
