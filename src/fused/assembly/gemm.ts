// AssemblyScript, compiled to WebAssembly by `npm run build` (scripts/build-wasm.js:
// without SIMD, with SIMD, and with SIMD plus relaxed-SIMD fused multiply-add).
//
// C[M, N] (+)= A[M, K] · B[K, N], all row-major float32, addressed by byte offsets
// into the module's memory. With SIMD, a 4 × 8 register tile: 4 rows of A are
// broadcast against two 4-lane vectors of one row of B, so each loaded vector of B
// is used 4 times and each loaded element of A 8 times. Edges fall back to scalars.
// Larger tiles (4 × 12, 6 × 8) measured slower: wasm engines on x86-64 give SIMD code
// 16 vector registers, and those tiles spill.

/**
 * c + a ⊙ b on 4 lanes: one fused multiply-add in the relaxed-SIMD build (1.4× the gemm
 * throughput of a multiply and an add, measured), else a multiply and an add. Every
 * product of a build goes through the same instruction, so its results do not depend on
 * how a product is split between threads.
 */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/**
 * The 4 × 8 register tile every SIMD product runs: C[0…3, 0…7] (+)= Σ_k x_r(k) · b(k), where
 * x_r(k), the value of A for row r of the tile, is at ap + r·ra + k·astep (bytes) and b(k),
 * the 8 values of B, at bp + k·bstep. gemm reads A's rows in place (ra = a row of A,
 * astep = 4); gemmTN reads a packed panel (ra = 4, astep = 16); B is a row of B (bstep = a
 * row) or a row of a panel (bstep = 32). c is C[0, 0] of the tile, ldc4 a row of C in bytes.
 */
// @ts-ignore: decorator
@inline function tile4x8(ap: usize, ra: usize, astep: usize, bp: usize, bstep: usize, K: i32, c: usize, ldc4: usize, accumulate: i32): void {
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0);
  let s20 = f32x4.splat(0), s21 = f32x4.splat(0);
  let s30 = f32x4.splat(0), s31 = f32x4.splat(0);
  const c1 = c + ldc4, c2 = c1 + ldc4, c3 = c2 + ldc4;
  if (accumulate == IN_ORDER) {
    // go on adding to C, term after term (accumulate = 1 adds this call's sum to C instead)
    s00 = v128.load(c); s01 = v128.load(c, 16);
    s10 = v128.load(c1); s11 = v128.load(c1, 16);
    s20 = v128.load(c2); s21 = v128.load(c2, 16);
    s30 = v128.load(c3); s31 = v128.load(c3, 16);
  }
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    // load32_splat: one broadcasting load each (a load and a shuffle would compete with
    // the multiplies and adds for the FP pipes)
    const x0 = v128.load32_splat(ap);
    const x1 = v128.load32_splat(ap + ra);
    const x2 = v128.load32_splat(ap + 2 * ra);
    const x3 = v128.load32_splat(ap + 3 * ra);
    s00 = madd(x0, b0, s00); s01 = madd(x0, b1, s01);
    s10 = madd(x1, b0, s10); s11 = madd(x1, b1, s11);
    s20 = madd(x2, b0, s20); s21 = madd(x2, b1, s21);
    s30 = madd(x3, b0, s30); s31 = madd(x3, b1, s31);
    ap += astep;
    bp += bstep;
  }
  if (accumulate == 1) {
    s00 = f32x4.add(s00, v128.load(c)); s01 = f32x4.add(s01, v128.load(c, 16));
    s10 = f32x4.add(s10, v128.load(c1)); s11 = f32x4.add(s11, v128.load(c1, 16));
    s20 = f32x4.add(s20, v128.load(c2)); s21 = f32x4.add(s21, v128.load(c2, 16));
    s30 = f32x4.add(s30, v128.load(c3)); s31 = f32x4.add(s31, v128.load(c3, 16));
  }
  v128.store(c, s00); v128.store(c, s01, 16);
  v128.store(c1, s10); v128.store(c1, s11, 16);
  v128.store(c2, s20); v128.store(c2, s21, 16);
  v128.store(c3, s30); v128.store(c3, s31, 16);
}

/**
 * C = A·B (accumulate = 0) or C += A·B (accumulate = 1).
 * Strides are in elements: lda ≥ K, ldb ≥ N, ldc ≥ N (for sub-matrices).
 */
export function gemm(
  M: i32, N: i32, K: i32,
  a: usize, lda: i32,
  b: usize, ldb: i32,
  c: usize, ldc: i32,
  accumulate: i32,
): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const N8 = N & ~7;
    const ra = <usize>lda << 2;
    const ldc4 = <usize>ldc << 2;
    for (; i + 4 <= M; i += 4) {
      const ai = a + (<usize>(i * lda) << 2);
      const ci = c + (<usize>(i * ldc) << 2);
      for (let j = 0; j < N8; j += 8) {
        const jo = <usize>j << 2;
        tile4x8(ai, ra, 4, b + jo, <usize>ldb << 2, K, ci + jo, ldc4, accumulate);
      }
      // Columns N8..N of these 4 rows.
      if (N8 < N) gemmScalar(4, N - N8, K, ai, lda, b + (<usize>N8 << 2), ldb, ci + (<usize>N8 << 2), ldc, accumulate);
    }
  }
  // Remaining rows (all rows without SIMD).
  if (i < M) {
    gemmScalar(M - i, N, K, a + (<usize>(i * lda) << 2), lda, b, ldb, c + (<usize>(i * ldc) << 2), ldc, accumulate);
  }
}

// Row by row, k outer and j inner, so that B and C are read along their rows.
function gemmScalar(
  M: i32, N: i32, K: i32,
  a: usize, lda: i32,
  b: usize, ldb: i32,
  c: usize, ldc: i32,
  accumulate: i32,
): void {
  for (let i = 0; i < M; i++) {
    const ai = a + (<usize>(i * lda) << 2);
    const ci = c + (<usize>(i * ldc) << 2);
    if (!accumulate) memory.fill(ci, 0, <usize>N << 2);
    for (let k = 0; k < K; k++) {
      const aik = load<f32>(ai + (<usize>k << 2));
      const bk = b + (<usize>(k * ldb) << 2);
      for (let j = 0; j < N; j++) {
        const cj = ci + (<usize>j << 2);
        store<f32>(cj, load<f32>(cj) + aik * load<f32>(bk + (<usize>j << 2)));
      }
    }
  }
}

/**
 * C = Aᵀ·B (accumulate = 0) or C += Aᵀ·B (accumulate = 1), where A is stored [K, M]:
 * C[i, j] (+)= Σ_k A[k, i] · B[k, j]. This is how BPTT sums parameter gradients over
 * all steps at once (∇_W L = Σ_t ∇_a(t)ᵀ h(t−1) with the rows (b, t) as k), without
 * transposing ∇_a. With SIMD, the same 4 × 8 tile as {@link gemm}, over blocks of
 * TN_KC rows of K and TN_NC columns of B, both operands copied to contiguous panels
 * first (see PANEL_A_BYTES, PANELS_B_BYTES).
 */
export function gemmTN(
  M: i32, N: i32, K: i32,
  a: usize, lda: i32,
  b: usize, ldb: i32,
  c: usize, ldc: i32,
  accumulate: i32,
): void {
  // K (= B·T rows in BPTT) in blocks of TN_KC, so that the packed block of B stays in
  // cache while every tile of C passes over it.
  for (let k0 = 0; k0 < K; k0 += TN_KC) {
    const kc = min(TN_KC, K - k0);
    gemmTNBlock(M, N, kc, a + (<usize>(k0 * lda) << 2), lda, b + (<usize>(k0 * ldb) << 2), ldb, c, ldc, k0 > 0 ? 1 : accumulate);
  }
  if (K == 0 && !accumulate) {
    for (let i = 0; i < M; i++) memory.fill(c + (<usize>(i * ldc) << 2), 0, <usize>N << 2);
  }
}

/** gemmTN's and tile4x8's `accumulate` for a block after the first of {@link gemmTNInOrder}. */
const IN_ORDER: i32 = 2;

/**
 * C = Aᵀ·B like {@link gemmTN} (A stored [K, M]), each C[i, j] added up term after term in
 * the order of k, a multiply then an add (with the plain SIMD build): the same bits as
 * XNNPACK's wasm SIMD product of Aᵀ and B, which tfjs would run. gemmTN instead adds each
 * block of TN_KC rows up on its own and then to C, so for K > TN_KC its bits differ (the
 * fused kernels' gradients were checked and the course's numbers made with that order).
 */
export function gemmTNInOrder(
  M: i32, N: i32, K: i32,
  a: usize, lda: i32,
  b: usize, ldb: i32,
  c: usize, ldc: i32,
): void {
  for (let k0 = 0; k0 < K; k0 += TN_KC) {
    const kc = min(TN_KC, K - k0);
    gemmTNBlock(M, N, kc, a + (<usize>(k0 * lda) << 2), lda, b + (<usize>(k0 * ldb) << 2), ldb, c, ldc, k0 > 0 ? IN_ORDER : 0);
  }
  if (K == 0) {
    for (let i = 0; i < M; i++) memory.fill(c + (<usize>(i * ldc) << 2), 0, <usize>N << 2);
  }
}

/**
 * The blocks of gemmTN: TN_KC rows of K, TN_NC columns of B (a multiple of 8; the packed
 * block of B, 256 KB, stays in L2 while the rows of C pass over it) and TN_MC columns of A
 * (rows of C, a multiple of 4) packed at a time. Measured for ∇W and ∇U of the LSTM at
 * H = 256 (GFLOP/s, one thread): 256/256/8 ~42, 128/256/16 ~39, 512/128/8 ~41,
 * 256/256/16 ~38, B read in place ~32; a larger TN_KC also means fewer passes of C's tiles.
 */
const TN_KC = 256;
const TN_NC = 256;
const TN_MC = 8;
/**
 * Per thread (see {@link setThreadIndex}), panels of A for gemmTN: TN_MC columns of a block
 * of A, copied to be contiguous, 4 columns per panel. Read in place, a tile's 4 values sit
 * one row of A apart (2 KB for the LSTM at H = 128, 4 KB at 256), so a block's rows all
 * fall in the same few L1 cache sets and evict each other (measured: 26 GFLOP/s in place,
 * 48 packed).
 */
const PANEL_A_BYTES: usize = TN_KC * TN_MC * 4;
/**
 * Per thread, a block of B for gemmTN [TN_KC, TN_NC] in panels of 8 columns (see
 * {@link packPanels}). Read in place, a tile's 8 columns sit one row of B apart (1 KB for
 * h(t−1) at H = 256), in 4 of L1's 64 sets, so every tile read its strip of B from L2
 * (see TN_KC for the speeds).
 */
const PANELS_B_BYTES: usize = TN_KC * TN_NC * 4;
/**
 * The products' per-thread scratch (2 × (PANEL_A_BYTES + PANELS_B_BYTES)) lies right above
 * the static data, below {@link heapBase}: a static array would be a data segment of zeros
 * in the threads builds, whose imported memory must be initialised explicitly.
 */
// @ts-ignore: decorator
@inline function scratch(): usize {
  return (__heap_base + 15) & ~15;
}
/** 0 on the thread that calls the kernels, 1 in the worker (globals are per instance). */
let threadIndex: i32 = 0;

/** Which per-thread scratch this instance uses (the worker's instance calls it with 1). */
export function setThreadIndex(i: i32): void {
  threadIndex = i;
}

/** 0 on the thread that calls the kernels, 1 in the worker: which per-thread scratch to use. */
export function currentThread(): i32 {
  return threadIndex;
}

function gemmTNBlock(
  M: i32, N: i32, K: i32,
  a: usize, lda: i32,
  b: usize, ldb: i32,
  c: usize, ldc: i32,
  accumulate: i32,
): void {
  let i = 0;
  const astep = <usize>lda << 2;
  const ldc4 = <usize>ldc << 2;
  if (ASC_FEATURE_SIMD) {
    const N8 = N & ~7;
    const panelA = scratch() + (<usize>threadIndex) * PANEL_A_BYTES;
    const panelsB = scratch() + 2 * PANEL_A_BYTES + (<usize>threadIndex) * PANELS_B_BYTES;
    const pstep = <usize>K << 5; // one packed panel of B: K rows of 8 values
    for (let j0 = 0; j0 < N8; j0 += TN_NC) {
      const nc = min(TN_NC, N8 - j0);
      packPanels(b + (<usize>j0 << 2), K, nc, ldb, panelsB);
      // rows of C in groups of up to TN_MC, whose columns of A are packed together
      for (let i0 = 0; i0 + 4 <= M; i0 += TN_MC) {
        const blocks = min(TN_MC, M - i0) >> 2;
        let src = a + (<usize>i0 << 2);
        for (let k = 0; k < K; k++) {
          for (let q = 0; q < blocks; q++) {
            v128.store(panelA + (<usize>(q * K + k) << 4), v128.load(src + (<usize>q << 4)));
          }
          src += astep;
        }
        for (let q = 0; q < blocks; q++) {
          const c0 = c + (<usize>((i0 + 4 * q) * ldc + j0) << 2);
          const pa = panelA + (<usize>(q * K) << 4);
          let panel = panelsB;
          for (let j = 0; j < nc; j += 8) {
            tile4x8(pa, 4, 16, panel, 32, K, c0 + (<usize>j << 2), ldc4, accumulate);
            panel += pstep;
          }
        }
      }
    }
    for (; i + 4 <= M; i += 4) {
      if (N8 < N) gemmTNScalar(4, N - N8, K, a + (<usize>i << 2), lda, b + (<usize>N8 << 2), ldb, c + (<usize>(i * ldc + N8) << 2), ldc, accumulate);
    }
  }
  if (i < M) gemmTNScalar(M - i, N, K, a + (<usize>i << 2), lda, b, ldb, c + (<usize>(i * ldc) << 2), ldc, accumulate);
}

// k outer (rows of A and B), then i, then j along the rows of B and C.
function gemmTNScalar(
  M: i32, N: i32, K: i32,
  a: usize, lda: i32,
  b: usize, ldb: i32,
  c: usize, ldc: i32,
  accumulate: i32,
): void {
  if (!accumulate) {
    for (let i = 0; i < M; i++) memory.fill(c + (<usize>(i * ldc) << 2), 0, <usize>N << 2);
  }
  for (let k = 0; k < K; k++) {
    const ak = a + (<usize>(k * lda) << 2);
    const bk = b + (<usize>(k * ldb) << 2);
    for (let i = 0; i < M; i++) {
      const aki = load<f32>(ak + (<usize>i << 2));
      const ci = c + (<usize>(i * ldc) << 2);
      for (let j = 0; j < N; j++) {
        const cj = ci + (<usize>j << 2);
        store<f32>(cj, load<f32>(cj) + aki * load<f32>(bk + (<usize>j << 2)));
      }
    }
  }
}

/**
 * Copies B [K, N] (row stride ldb, N a multiple of 8) into panels of 8 columns for
 * {@link gemmPanels}: panel p = columns 8p … 8p+7, stored [K, 8] contiguous, panel after
 * panel (dst holds K·N values; panel stride K·8). The kernels' weights come packed this
 * way (layout.ts, packGates) and are read at every step: read in place, the rows of a column strip lie a row
 * of B apart (4 KB for the LSTM at H = 256), fall in the same few cache sets and evict
 * each other (measured: 30 GFLOP/s in place at H = 256, 46 at H = 128).
 */
/** Byte address of element (k, n) of a [K, N] matrix stored in panels of 8 columns (see {@link packPanels}). */
// @ts-ignore: decorator
@inline export function panelAt(base: usize, K: i32, k: i32, n: i32): usize {
  return base + (<usize>((((n >> 3) * K + k) << 3) + (n & 7)) << 2);
}

export function packPanels(b: usize, K: i32, N: i32, ldb: i32, dst: usize): void {
  for (let p = 0; p < N; p += 8) {
    let d = dst + (<usize>(p * K) << 2);
    let src = b + (<usize>p << 2);
    for (let k = 0; k < K; k++) {
      memory.copy(d, src, 32);
      d += 32;
      src += <usize>ldb << 2;
    }
  }
}

/**
 * C (+)= A·B like {@link gemm}, with B [K, N] in panels of 8 columns (see
 * {@link packPanels}): panel p starts at bp + p·ldp values, row k of it at + 8k. N must
 * be a multiple of 8. A sub-block of a packed matrix is a panel offset (columns) or a row
 * offset inside every panel (rows), with the same ldp.
 */
export function gemmPanels(
  M: i32, N: i32, K: i32,
  a: usize, lda: i32,
  bp: usize, ldp: i32,
  c: usize, ldc: i32,
  accumulate: i32,
): void {
  let i = 0;
  const pstep = <usize>ldp << 2;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= M; i += 4) {
      const ai = a + (<usize>(i * lda) << 2);
      const ci = c + (<usize>(i * ldc) << 2);
      let panel = bp;
      for (let j = 0; j < N; j += 8) {
        tile4x8(ai, <usize>lda << 2, 4, panel, 32, K, ci + (<usize>j << 2), <usize>ldc << 2, accumulate);
        panel += pstep;
      }
    }
    // Rows M4 … M−1: one row at a time against each panel.
    for (; i < M; i++) {
      const ai = a + (<usize>(i * lda) << 2);
      const ci = c + (<usize>(i * ldc) << 2);
      let panel = bp;
      for (let j = 0; j < N; j += 8) {
        const jo = <usize>j << 2;
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
        let q = panel;
        for (let k = 0; k < K; k++) {
          const x = v128.load32_splat(ai + (<usize>k << 2));
          s0 = madd(x, v128.load(q), s0);
          s1 = madd(x, v128.load(q, 16), s1);
          q += 32;
        }
        if (accumulate) {
          s0 = f32x4.add(s0, v128.load(ci + jo));
          s1 = f32x4.add(s1, v128.load(ci + jo, 16));
        }
        v128.store(ci + jo, s0);
        v128.store(ci + jo, s1, 16);
        panel += pstep;
      }
    }
    return;
  }
  // Without SIMD: row by row, k outer, along the 8 columns of each panel.
  for (; i < M; i++) {
    const ai = a + (<usize>(i * lda) << 2);
    const ci = c + (<usize>(i * ldc) << 2);
    if (!accumulate) memory.fill(ci, 0, <usize>N << 2);
    let panel = bp;
    for (let j = 0; j < N; j += 8) {
      const cj = ci + (<usize>j << 2);
      for (let k = 0; k < K; k++) {
        const aik = load<f32>(ai + (<usize>k << 2));
        const q = panel + (<usize>k << 5);
        for (let l = 0; l < 8; l++) {
          const o = <usize>l << 2;
          store<f32>(cj + o, load<f32>(cj + o) + aik * load<f32>(q + o));
        }
      }
      panel += pstep;
    }
  }
}

/**
 * The first byte JavaScript may use; it allocates from here up. Below it, above the static
 * data, lies gemmTN's per-thread scratch (packed panels), which this call makes sure the
 * memory holds.
 */
export function heapBase(): usize {
  const base = scratch() + 2 * (PANEL_A_BYTES + PANELS_B_BYTES);
  const have = <usize>memory.size() << 16;
  if (base > have) memory.grow(<i32>((base - have + 0xffff) >> 16));
  return base;
}

/** 1 when compiled with SIMD. */
export function simd(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}
