// The safetensors reader and writer: exact half-precision conversions (subnormals, signed zeros,
// infinities, ties to even), round trips in every dtype, chunked reads of a large tensor, sharded
// stores, GPT-2's optional name prefix, and every malformed-file error naming file and tensor.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  bf16ToF32,
  f16ToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  openSafetensorsStore,
  SafetensorsFile,
  SafetensorsStore,
  writeAtomically,
  writeSafetensors,
} from '../../../engine/src/checkpoint/safetensors';

const root = mkdtempSync(join(tmpdir(), 'hdlm-safetensors-'));
after(() => rmSync(root, { recursive: true, force: true }));
const freshDir = (): string => mkdtempSync(join(root, 'case-'));

/** A file with the given header (object or raw text) and data bytes, as a broken writer might make. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), name = 'model.safetensors'): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const path = join(freshDir(), name);
  writeFileSync(path, Buffer.concat([prefix, json, data]));
  return path;
}

const widen16 = (bits: number): number => {
  const out = new Float32Array(1);
  f16ToF32(Uint16Array.of(bits), out);
  return out[0]!;
};
const widenBf16 = (bits: number): number => {
  const out = new Float32Array(1);
  bf16ToF32(Uint16Array.of(bits), out);
  return out[0]!;
};

test('f32 → f16 rounds to nearest even, with subnormals, signed zeros, overflow and NaN', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [65504, 0x7bff], // largest finite f16
    [65519, 0x7bff], // below the midpoint to 65536
    [65520, 0x7c00], // the midpoint: ties to even, which is the infinity's pattern
    [1e6, 0x7c00],
    [-Infinity, 0xfc00],
    [Infinity, 0x7c00],
    [2 ** -14, 0x0400], // smallest normal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // half of it: tie, rounds to the even zero
    [1.5 * 2 ** -25, 0x0001], // above the tie
    [3 * 2 ** -25, 0x0002], // 1.5 units: tie between 1 and 2, rounds to even 2
    [-(2 ** -26), 0x8000], // underflows to negative zero
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10: to even
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02: to even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [2047 * 2 ** -25, 0x0400], // rounds up out of the subnormals into the smallest normal
  ];
  for (const [value, bits] of cases) assert.equal(f32ToF16Bits(value), bits, `f16 bits of ${value}`);
  assert.equal(f32ToF16Bits(NaN), 0x7e00);
});

test('f16 → f32 is exact for every class of value', () => {
  assert.equal(widen16(0x0001), 2 ** -24);
  assert.equal(widen16(0x03ff), 1023 * 2 ** -24);
  assert.equal(widen16(0x0400), 2 ** -14);
  assert.equal(widen16(0x3555), 0.333251953125);
  assert.equal(widen16(0x7bff), 65504);
  assert.equal(widen16(0x7c00), Infinity);
  assert.equal(widen16(0xfc00), -Infinity);
  assert.ok(Number.isNaN(widen16(0x7e00)));
  assert.ok(Object.is(widen16(0x8000), -0));
  assert.equal(widen16(0x8001), -(2 ** -24));
  // Every finite f16 survives f16 → f32 → f16 unchanged.
  for (let h = 0; h < 65536; h++) {
    if ((h & 0x7c00) === 0x7c00) continue;
    assert.equal(f32ToF16Bits(widen16(h)), h);
  }
});

test('f32 ↔ bf16: truncation to the top half with ties to even', () => {
  const cases: [number, number][] = [
    [1, 0x3f80],
    [-0, 0x8000],
    [1 + 2 ** -8, 0x3f80], // tie: to even
    [1 + 3 * 2 ** -8, 0x3f82], // tie between 0x3f81 and 0x3f82: to even
    [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [3.4028234663852886e38, 0x7f80], // f32 max is past bf16's last midpoint
    [1e-40, 0x0001], // an f32 subnormal keeps its top bits
  ];
  for (const [value, bits] of cases) assert.equal(f32ToBf16Bits(value), bits, `bf16 bits of ${value}`);
  assert.equal(f32ToBf16Bits(NaN), 0x7fc0);
  assert.equal(widenBf16(0x3f81), 1 + 2 ** -7);
  assert.equal(widenBf16(0x0001), 2 ** -133);
  assert.ok(Object.is(widenBf16(0x8000), -0));
  assert.equal(widenBf16(0xff80), -Infinity);
});

test('writing then reading gives back each dtype exactly, with metadata and an aligned data buffer', () => {
  const path = join(freshDir(), 'model.safetensors');
  const values = Float32Array.of(0, -0, 1, 0.1, -65520, 2 ** -25, 3 * 2 ** -25, 1 + 2 ** -8, 1e-40);
  writeSafetensors(
    path,
    {
      a32: { dtype: 'F32', shape: [3, 3], data: values },
      b16: { dtype: 'F16', shape: [9], data: values },
      cbf: { dtype: 'BF16', shape: [1, 9], data: values },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    },
    { format: 'pt' },
  );
  const file = SafetensorsFile.open(path);
  assert.deepEqual(file.metadata, { format: 'pt' });
  assert.deepEqual(file.names().sort(), ['a32', 'b16', 'cbf', 'empty']);
  assert.equal(file.entry('a32')!.begin % 8, 0);
  assert.deepEqual(file.entry('cbf')!.shape, [1, 9]);
  assert.deepEqual([...file.read('a32')], [...values]);
  assert.ok(Object.is(file.read('a32')[1], -0));
  assert.deepEqual([...file.read('b16')], [0, -0, 1, 0.0999755859375, -Infinity, 0, 2 ** -23, 1 + 2 ** -8, 0]);
  assert.deepEqual([...file.read('cbf')], [0, -0, 1, 0.10009765625, -65536, 2 ** -25, 3 * 2 ** -25, 1, widenBf16(0x0001)]);
  assert.equal(file.read('empty').length, 0);
});

test('the writer refuses data that does not fill the shape, and leaves no temporary file', () => {
  const dir = freshDir();
  assert.throws(
    () => writeSafetensors(join(dir, 'x.safetensors'), { w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(5) } }),
    /w has 5 values but shape \[2,3\] needs 6/,
  );
  writeSafetensors(join(dir, 'y.safetensors'), { w: { dtype: 'F16', shape: [2], data: Float32Array.of(1, 2) } });
  assert.deepEqual(readdirSync(dir), ['y.safetensors']);
});

test('a write that fails part-way leaves the file it replaces as it was, and no temporary file', () => {
  const dir = freshDir();
  const path = join(dir, 'head.json');
  writeAtomically(path, [Buffer.from('the old head\n')]);
  // The second part fails when read, after the first was written: as a disk that fills, or a
  // buffer that goes away, would fail mid-file. Written straight into the final path, the old
  // content would already be gone, replaced by the first part alone.
  const failing = new Uint8Array(8);
  Object.defineProperty(failing, 'length', { get: () => { throw new Error('the disk is full'); } });
  assert.throws(() => writeAtomically(path, [Buffer.from('the new, longer head, first half'), failing]), /the disk is full/);
  assert.equal(readFileSync(path, 'utf8'), 'the old head\n');
  assert.deepEqual(readdirSync(dir), ['head.json']);
  writeAtomically(path, [Buffer.from('the new '), Buffer.from('head\n')]);
  assert.equal(readFileSync(path, 'utf8'), 'the new head\n');
  assert.deepEqual(readdirSync(dir), ['head.json']);
});

test('a tensor larger than one read chunk is read whole', () => {
  const n = 9 * 1024 * 1024; // 18 MiB as F16: more than the 16 MiB chunk
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (i % 2048) - 1024;
  const path = join(freshDir(), 'model.safetensors');
  writeSafetensors(path, { big: { dtype: 'F16', shape: [n], data }, small: { dtype: 'F32', shape: [1], data: Float32Array.of(7) } });
  const file = SafetensorsFile.open(path);
  const back = file.read('big');
  assert.equal(back.length, n);
  for (const i of [0, 1, 8 * 1024 * 1024 - 1, 8 * 1024 * 1024, 8 * 1024 * 1024 + 1, n - 1]) assert.equal(back[i], data[i], `element ${i}`);
  assert.equal(file.findNonFinite('big'), undefined);
  assert.deepEqual([...file.read('small')], [7]);
});

test('the non-finite scan finds the first NaN or infinity in each dtype', () => {
  const path = join(freshDir(), 'model.safetensors');
  const withNan = Float32Array.of(1, 2, NaN, Infinity);
  const withInf = Float32Array.of(1, -Infinity, 3, 4);
  writeSafetensors(path, {
    f32: { dtype: 'F32', shape: [4], data: withNan },
    f16: { dtype: 'F16', shape: [2, 2], data: withInf },
    bf16: { dtype: 'BF16', shape: [4], data: withNan },
    clean: { dtype: 'F16', shape: [2], data: Float32Array.of(65504, -65504) },
    overflows: { dtype: 'F16', shape: [1], data: Float32Array.of(70000) },
  });
  const file = SafetensorsFile.open(path);
  assert.ok(Number.isNaN(file.findNonFinite('f32')!.value));
  assert.equal(file.findNonFinite('f32')!.index, 2);
  assert.deepEqual(file.findNonFinite('f16'), { index: 1, value: -Infinity });
  assert.equal(file.findNonFinite('bf16')!.index, 2);
  assert.equal(file.findNonFinite('clean'), undefined);
  // A value too large for F16 was stored as infinity, which the scan must catch.
  assert.deepEqual(file.findNonFinite('overflows'), { index: 0, value: Infinity });
});

test('malformed files fail with the file and the tensor named', () => {
  const short = join(freshDir(), 'model.safetensors');
  writeFileSync(short, Buffer.from([1, 2, 3]));
  // The path, folder and all: a message naming only model.safetensors does not say which model's.
  assert.throws(() => SafetensorsFile.open(short), (err: Error) => err.message.startsWith(`${short}: file is 3 bytes, too short`));

  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(1000n);
  const longHeader = join(freshDir(), 'model-00001-of-00002.safetensors');
  writeFileSync(longHeader, Buffer.concat([prefix, Buffer.from('{}')]));
  assert.throws(() => SafetensorsFile.open(longHeader), /model-00001-of-00002\.safetensors: header length 1000 exceeds the 2 bytes.*truncated/);

  assert.throws(() => SafetensorsFile.open(rawFile('{"w": {"dtype": "F32",')), /model\.safetensors header: line 1, column \d+: not valid JSON: /);
  assert.throws(() => SafetensorsFile.open(rawFile('[1,2]')), /model\.safetensors: header is not a JSON object/);
  assert.throws(
    () => SafetensorsFile.open(rawFile({ w: { dtype: 'F7', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4))),
    /model\.safetensors: tensor w: unknown dtype "F7" \(known: BOOL,.*BF16/,
  );
  assert.throws(
    () => SafetensorsFile.open(rawFile({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 4] } }, new Uint8Array(4))),
    /tensor w: shape \[2,-1\] is not a list of non-negative integers/,
  );
  assert.throws(
    () => SafetensorsFile.open(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0] } }, new Uint8Array(8))),
    /tensor w: data_offsets \[0\] is not a pair/,
  );
  assert.throws(
    () => SafetensorsFile.open(rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, new Uint8Array(8))),
    /tensor w: data_offsets \[4,0\] end before they begin/,
  );
  assert.throws(
    () => SafetensorsFile.open(rawFile({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, new Uint8Array(12))),
    /model\.safetensors: tensor w: data_offsets \[0,16\] lie outside the 12-byte data buffer/,
  );
  assert.throws(
    () => SafetensorsFile.open(rawFile({ w: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 16] } }, new Uint8Array(16))),
    /tensor w: data_offsets \[0,16\] span 16 bytes but F16\[2,2\] needs 8/,
  );
  assert.throws(
    () =>
      SafetensorsFile.open(
        rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
      ),
    /model\.safetensors: tensors a and b overlap/,
  );
  assert.throws(
    () => SafetensorsFile.open(rawFile({ __metadata__: { format: 1 }, w: { dtype: 'F32', shape: [], data_offsets: [0, 4] } }, new Uint8Array(4))),
    /__metadata__\.format is not a string/,
  );
  assert.throws(() => SafetensorsFile.open(join(freshDir(), 'absent.safetensors')), /absent\.safetensors: cannot open/);
});

test('a file truncated after a valid header fails at open, naming the tensor that no longer fits', () => {
  const path = join(freshDir(), 'model.safetensors');
  writeSafetensors(path, { a: { dtype: 'F32', shape: [4], data: new Float32Array(4) }, b: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
  truncateSync(path, SafetensorsFile.open(path).size - 3);
  assert.throws(() => SafetensorsFile.open(path), /model\.safetensors: tensor b: data_offsets \[16,32\] lie outside the 29-byte data buffer \(truncated file\?\)/);
});

test('a file rewritten with another size after open is refused, not misread', () => {
  const path = join(freshDir(), 'model.safetensors');
  writeSafetensors(path, { w: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } });
  const file = SafetensorsFile.open(path);
  writeSafetensors(path, { w: { dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) } });
  assert.throws(() => file.read('w'), /model\.safetensors: the file changed since it was opened \(72 → 76 bytes\); reload the checkpoint/);
  assert.deepEqual([...SafetensorsFile.open(path).read('w')], [1, 2, 3]);
});

test('tensors in dtypes the engine does not read are kept out of the store but explained', () => {
  const path = rawFile(
    { mask: { dtype: 'I64', shape: [2], data_offsets: [0, 16] }, w: { dtype: 'F32', shape: [1], data_offsets: [16, 20] } },
    new Uint8Array(20),
  );
  const file = SafetensorsFile.open(path);
  assert.throws(() => file.read('mask'), /model\.safetensors: tensor mask is stored as I64; the engine reads F32, F16, BF16/);
  const store = new SafetensorsStore([file], 'model.safetensors');
  assert.deepEqual(store.names(), ['w']);
  assert.equal(store.has('mask'), false);
  assert.equal(store.unreadableDtype('mask'), 'I64');
  assert.throws(() => store.get('mask', [2]), /model\.safetensors: mask is stored as I64/);
});

test('the store checks shapes on get and names file, tensor and both shapes', () => {
  const dir = freshDir();
  writeSafetensors(join(dir, 'model.safetensors'), { 'model.norm.weight': { dtype: 'BF16', shape: [4], data: Float32Array.of(1, 2, 3, 4) } });
  const store = openSafetensorsStore(dir);
  assert.deepEqual(store.shape('model.norm.weight'), [4]);
  assert.equal(store.dtype('model.norm.weight'), 'BF16');
  assert.equal(store.dtype('nothing'), undefined);
  assert.deepEqual([...store.get('model.norm.weight', [4])], [1, 2, 3, 4]);
  assert.throws(() => store.get('model.norm.weight', [2, 2]), (err: Error) => err.message === `${join(dir, 'model.safetensors')}: model.norm.weight has shape [4], expected shape [2,2]`);
  assert.throws(() => store.get('lm_head.weight', [8, 4]), (err: Error) => err.message === `${join(dir, 'model.safetensors')}: missing tensor lm_head.weight, expected shape [8,4]`);
});

test('an optional name prefix is accepted with or without it and listed without it', () => {
  const dir = freshDir();
  writeSafetensors(join(dir, 'model.safetensors'), {
    'transformer.wte.weight': { dtype: 'F32', shape: [2], data: Float32Array.of(5, 6) },
    'h.0.ln_1.weight': { dtype: 'F32', shape: [1], data: Float32Array.of(7) },
  });
  const store = openSafetensorsStore(dir, { optionalPrefix: 'transformer.' });
  assert.deepEqual(store.names().sort(), ['h.0.ln_1.weight', 'wte.weight']);
  assert.deepEqual([...store.get('wte.weight', [2])], [5, 6]);
  assert.deepEqual([...store.get('transformer.wte.weight', [2])], [5, 6]);
  assert.deepEqual([...store.get('transformer.h.0.ln_1.weight', [1])], [7]);
  assert.equal(store.has('transformer.h.0.ln_1.weight'), true);

  const twice = freshDir();
  writeSafetensors(join(twice, 'model.safetensors'), {
    'transformer.wte.weight': { dtype: 'F32', shape: [1], data: Float32Array.of(1) },
    'wte.weight': { dtype: 'F32', shape: [1], data: Float32Array.of(1) },
  });
  assert.throws(() => openSafetensorsStore(twice, { optionalPrefix: 'transformer.' }), /tensor wte\.weight is stored twice/);
});

/** Two shards and an index, as transformers writes them. */
function writeShards(dir: string): void {
  writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), { a: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } });
  writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), { b: { dtype: 'F16', shape: [1, 2], data: Float32Array.of(3, 4) } });
  const index = { metadata: { total_size: 12 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
}

test('sharded weights are read through the index', () => {
  const dir = freshDir();
  writeShards(dir);
  const store = openSafetensorsStore(dir);
  assert.equal(store.label, join(dir, 'model.safetensors.index.json'));
  assert.deepEqual(store.names().sort(), ['a', 'b']);
  assert.equal(store.fileOf('b'), join(dir, 'model-00002-of-00002.safetensors'));
  assert.deepEqual([...store.get('a', [2])], [1, 2]);
  assert.deepEqual([...store.get('b', [1, 2])], [3, 4]);
  assert.throws(() => store.get('c', [1]), (err: Error) => err.message.startsWith(`${join(dir, 'model.safetensors.index.json')}: missing tensor c`));
});

test('a broken index fails naming the index and the shard', () => {
  const missingShard = freshDir();
  writeShards(missingShard);
  rmSync(join(missingShard, 'model-00002-of-00002.safetensors'));
  assert.throws(() => openSafetensorsStore(missingShard), /model\.safetensors\.index\.json: lists model-00002-of-00002\.safetensors, which does not exist/);

  const wrongShard = freshDir();
  writeShards(wrongShard);
  const index = { weight_map: { a: 'model-00002-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } };
  writeFileSync(join(wrongShard, 'model.safetensors.index.json'), JSON.stringify(index));
  assert.throws(() => openSafetensorsStore(wrongShard), /1 listed tensor\(s\) are not in their shard: a \(in model-00002-of-00002\.safetensors\)/);

  const escaping = freshDir();
  writeShards(escaping);
  writeFileSync(join(escaping, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: '../elsewhere.safetensors' } }));
  assert.throws(() => openSafetensorsStore(escaping), /weight_map\["a"\] is "\.\.\/elsewhere\.safetensors", not a file name in the folder/);

  const noMap = freshDir();
  writeFileSync(join(noMap, 'model.safetensors.index.json'), '{"metadata": {}}');
  assert.throws(() => openSafetensorsStore(noMap), /model\.safetensors\.index\.json: weight_map is missing/);

  const badJson = freshDir();
  writeFileSync(join(badJson, 'model.safetensors.index.json'), '{');
  assert.throws(() => openSafetensorsStore(badJson), /model\.safetensors\.index\.json: line 1, column 2: not valid JSON: close brace expected/);
});

test('a folder without safetensors weights says what it found instead', () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'pytorch_model.bin'), 'x');
  assert.throws(() => openSafetensorsStore(dir), /no model\.safetensors or model\.safetensors\.index\.json; found pytorch_model\.bin, which the engine does not read/);
});
