;; Integer GEMM with requantization, WebAssembly SIMD.
;;
;; out[i, j] = sat16(rshift((bias[i] + Σ_k w[i, k] · x[j, k]) · mul[i], shift[i]))
;;
;; w: int16 [m][kp], x: int16 [p][kp] (kp a multiple of 8, p a multiple of 4, zero padded),
;; bias, mul, shift: int32 [m], out: int16 [m][p]. Weights hold int8 values (|w| ≤ 127, as
;; the importer guarantees). Products are summed with i32x4.dot_i16x8_s in blocks of 512 elements,
;; so |block sum| ≤ 512 · 32768 · 127 < 2^31 fits in i32 (lane sums are bounded by the block
;; sum of magnitudes), and blocks are added in i64: the result is the exact integer sum, whatever
;; the order. |(sum + bias) · mul| < 2^52 by the semantics' bound. rshift rounds half toward +∞:
;; (v + 2^(s−1)) >> s with an arithmetic shift. This is the `Conv` / `Dense` definition of
;; docs/semantics.md.
(module
  (memory (export "memory") 1)

  (func $hsum (param $v v128) (result i64)
    (i64.add
      (i64.add
        (i64.extend_i32_s (i32x4.extract_lane 0 (local.get $v)))
        (i64.extend_i32_s (i32x4.extract_lane 1 (local.get $v))))
      (i64.add
        (i64.extend_i32_s (i32x4.extract_lane 2 (local.get $v)))
        (i64.extend_i32_s (i32x4.extract_lane 3 (local.get $v))))))

  (func $requant (param $t i64) (param $b i64) (param $m i64) (param $s i64) (param $half i64) (result i32)
    (local $v i64)
    (local.set $v
      (i64.shr_s
        (i64.add (i64.mul (i64.add (local.get $t) (local.get $b)) (local.get $m)) (local.get $half))
        (local.get $s)))
    (if (i64.gt_s (local.get $v) (i64.const 32767)) (then (local.set $v (i64.const 32767))))
    (if (i64.lt_s (local.get $v) (i64.const -32768)) (then (local.set $v (i64.const -32768))))
    (i32.wrap_i64 (local.get $v)))

  (func (export "gemm")
    (param $w i32) (param $x i32) (param $bias i32) (param $mul i32) (param $shift i32) (param $out i32)
    (param $m i32) (param $p i32) (param $kp i32)
    (local $i i32) (local $j i32) (local $k i32) (local $kend i32) (local $rowBytes i32)
    (local $wrow i32) (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $o i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $wv v128)
    (local $t0 i64) (local $t1 i64) (local $t2 i64) (local $t3 i64)
    (local $b i64) (local $mm i64) (local $s i64) (local $half i64)
    (local.set $rowBytes (i32.shl (local.get $kp) (i32.const 1)))
    (local.set $i (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $wrow (i32.add (local.get $w) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $b (i64.extend_i32_s (i32.load (i32.add (local.get $bias) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $mm (i64.extend_i32_s (i32.load (i32.add (local.get $mul) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $s (i64.extend_i32_s (i32.load (i32.add (local.get $shift) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $half
          (if (result i64) (i64.eqz (local.get $s))
            (then (i64.const 0))
            (else (i64.shl (i64.const 1) (i64.sub (local.get $s) (i64.const 1))))))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $p)))
            (local.set $x0 (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $rowBytes))))
            (local.set $x1 (i32.add (local.get $x0) (local.get $rowBytes)))
            (local.set $x2 (i32.add (local.get $x1) (local.get $rowBytes)))
            (local.set $x3 (i32.add (local.get $x2) (local.get $rowBytes)))
            (local.set $t0 (i64.const 0))
            (local.set $t1 (i64.const 0))
            (local.set $t2 (i64.const 0))
            (local.set $t3 (i64.const 0))
            (local.set $k (i32.const 0))
            (block $blocks_done
              (loop $blocks
                (br_if $blocks_done (i32.ge_u (local.get $k) (local.get $rowBytes)))
                (local.set $kend (i32.add (local.get $k) (i32.const 1024)))
                (if (i32.gt_u (local.get $kend) (local.get $rowBytes)) (then (local.set $kend (local.get $rowBytes))))
                (local.set $a0 (v128.const i32x4 0 0 0 0))
                (local.set $a1 (v128.const i32x4 0 0 0 0))
                (local.set $a2 (v128.const i32x4 0 0 0 0))
                (local.set $a3 (v128.const i32x4 0 0 0 0))
                (block $inner_done
                  (loop $inner
                    (br_if $inner_done (i32.ge_u (local.get $k) (local.get $kend)))
                    (local.set $wv (v128.load (i32.add (local.get $wrow) (local.get $k))))
                    (local.set $a0 (i32x4.add (local.get $a0) (i32x4.dot_i16x8_s (local.get $wv) (v128.load (i32.add (local.get $x0) (local.get $k))))))
                    (local.set $a1 (i32x4.add (local.get $a1) (i32x4.dot_i16x8_s (local.get $wv) (v128.load (i32.add (local.get $x1) (local.get $k))))))
                    (local.set $a2 (i32x4.add (local.get $a2) (i32x4.dot_i16x8_s (local.get $wv) (v128.load (i32.add (local.get $x2) (local.get $k))))))
                    (local.set $a3 (i32x4.add (local.get $a3) (i32x4.dot_i16x8_s (local.get $wv) (v128.load (i32.add (local.get $x3) (local.get $k))))))
                    (local.set $k (i32.add (local.get $k) (i32.const 16)))
                    (br $inner)))
                (local.set $t0 (i64.add (local.get $t0) (call $hsum (local.get $a0))))
                (local.set $t1 (i64.add (local.get $t1) (call $hsum (local.get $a1))))
                (local.set $t2 (i64.add (local.get $t2) (call $hsum (local.get $a2))))
                (local.set $t3 (i64.add (local.get $t3) (call $hsum (local.get $a3))))
                (br $blocks)))
            (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $p)) (local.get $j)) (i32.const 1))))
            (i32.store16 (local.get $o) (call $requant (local.get $t0) (local.get $b) (local.get $mm) (local.get $s) (local.get $half)))
            (i32.store16 offset=2 (local.get $o) (call $requant (local.get $t1) (local.get $b) (local.get $mm) (local.get $s) (local.get $half)))
            (i32.store16 offset=4 (local.get $o) (call $requant (local.get $t2) (local.get $b) (local.get $mm) (local.get $s) (local.get $half)))
            (i32.store16 offset=6 (local.get $o) (call $requant (local.get $t3) (local.get $b) (local.get $mm) (local.get $s) (local.get $half)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
  ;; im2col for one batch item and one group: cols[(oy·ow + ox)·kp + (ic·kh + ky)·kw + kx] =
  ;; x[(ic·h + iy)·w + ix] with iy = oy·sh − pt + ky·dh, ix = ox·sw − pl + kx·dw, for positions
  ;; inside the input. Positions outside are left as they are (the caller zeroes cols first).
  (func (export "im2col")
    (param $x i32) (param $cg i32) (param $h i32) (param $w i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $dh i32) (param $dw i32)
    (param $pt i32) (param $pl i32) (param $oh i32) (param $ow i32) (param $kp i32) (param $cols i32)
    (local $ic i32) (local $ky i32) (local $kx i32) (local $col i32) (local $num i32)
    (local $y0 i32) (local $y1 i32) (local $x0 i32) (local $x1 i32) (local $oy i32) (local $ox i32)
    (local $src i32) (local $dst i32) (local $srcStep i32) (local $dstStep i32)
    (local.set $srcStep (i32.shl (local.get $sw) (i32.const 1)))
    (local.set $dstStep (i32.shl (local.get $kp) (i32.const 1)))
    (local.set $ic (i32.const 0))
    (block $ic_done (loop $ic_loop
      (br_if $ic_done (i32.ge_u (local.get $ic) (local.get $cg)))
      (local.set $ky (i32.const 0))
      (block $ky_done (loop $ky_loop
        (br_if $ky_done (i32.ge_u (local.get $ky) (local.get $kh)))
        ;; y0 = max(0, ceil((pt − ky·dh) / sh)); y1 = min(oh, floor((h − 1 + pt − ky·dh) / sh) + 1)
        (local.set $num (i32.sub (local.get $pt) (i32.mul (local.get $ky) (local.get $dh))))
        (local.set $y0 (if (result i32) (i32.le_s (local.get $num) (i32.const 0))
          (then (i32.const 0))
          (else (i32.div_u (i32.add (local.get $num) (i32.sub (local.get $sh) (i32.const 1))) (local.get $sh)))))
        (local.set $num (i32.add (i32.sub (local.get $h) (i32.const 1)) (local.get $num)))
        (local.set $y1 (if (result i32) (i32.lt_s (local.get $num) (i32.const 0))
          (then (i32.const 0))
          (else (i32.add (i32.div_u (local.get $num) (local.get $sh)) (i32.const 1)))))
        (if (i32.gt_u (local.get $y1) (local.get $oh)) (then (local.set $y1 (local.get $oh))))
        (local.set $kx (i32.const 0))
        (block $kx_done (loop $kx_loop
          (br_if $kx_done (i32.ge_u (local.get $kx) (local.get $kw)))
          (local.set $col (i32.add (i32.mul (i32.add (i32.mul (local.get $ic) (local.get $kh)) (local.get $ky)) (local.get $kw)) (local.get $kx)))
          (local.set $num (i32.sub (local.get $pl) (i32.mul (local.get $kx) (local.get $dw))))
          (local.set $x0 (if (result i32) (i32.le_s (local.get $num) (i32.const 0))
            (then (i32.const 0))
            (else (i32.div_u (i32.add (local.get $num) (i32.sub (local.get $sw) (i32.const 1))) (local.get $sw)))))
          (local.set $num (i32.add (i32.sub (local.get $w) (i32.const 1)) (local.get $num)))
          (local.set $x1 (if (result i32) (i32.lt_s (local.get $num) (i32.const 0))
            (then (i32.const 0))
            (else (i32.add (i32.div_u (local.get $num) (local.get $sw)) (i32.const 1)))))
          (if (i32.gt_u (local.get $x1) (local.get $ow)) (then (local.set $x1 (local.get $ow))))
          (local.set $oy (local.get $y0))
          (block $oy_done (loop $oy_loop
            (br_if $oy_done (i32.ge_s (local.get $oy) (local.get $y1)))
            ;; src = x + 2·((ic·h + oy·sh − pt + ky·dh)·w + x0·sw − pl + kx·dw)
            (local.set $src (i32.add (local.get $x) (i32.shl
              (i32.add
                (i32.mul
                  (i32.add (i32.mul (local.get $ic) (local.get $h))
                    (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt)) (i32.mul (local.get $ky) (local.get $dh))))
                  (local.get $w))
                (i32.add (i32.sub (i32.mul (local.get $x0) (local.get $sw)) (local.get $pl)) (i32.mul (local.get $kx) (local.get $dw))))
              (i32.const 1))))
            (local.set $dst (i32.add (local.get $cols) (i32.shl
              (i32.add (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $ow)) (local.get $x0)) (local.get $kp)) (local.get $col))
              (i32.const 1))))
            (local.set $ox (local.get $x0))
            (block $ox_done (loop $ox_loop
              (br_if $ox_done (i32.ge_s (local.get $ox) (local.get $x1)))
              (i32.store16 (local.get $dst) (i32.load16_s (local.get $src)))
              (local.set $src (i32.add (local.get $src) (local.get $srcStep)))
              (local.set $dst (i32.add (local.get $dst) (local.get $dstStep)))
              (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
              (br $ox_loop)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $oy_loop)))
          (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
          (br $kx_loop)))
        (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
        (br $ky_loop)))
      (local.set $ic (i32.add (local.get $ic) (i32.const 1)))
      (br $ic_loop))))
  ;; Sum of an exact dot-product accumulator: lanes of lo and hi (i64x2) plus 2^32 for every lane
  ;; of a dot that wrapped (see gemm16).
  (func $hsum64 (param $lo v128) (param $hi v128) (param $wraps v128) (result i64)
    (i64.add
      (i64.add
        (i64.add (i64x2.extract_lane 0 (local.get $lo)) (i64x2.extract_lane 1 (local.get $lo)))
        (i64.add (i64x2.extract_lane 0 (local.get $hi)) (i64x2.extract_lane 1 (local.get $hi))))
      (i64.shl
        (i64.extend_i32_s
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $wraps)) (i32x4.extract_lane 1 (local.get $wraps)))
            (i32.add (i32x4.extract_lane 2 (local.get $wraps)) (i32x4.extract_lane 3 (local.get $wraps)))))
        (i64.const 32))))

  ;; MatMulAct of two activations: out[i, j] = sat16(rshift(Σ_k a[i, k] · x[j, k] · mul, shift)),
  ;; a: int16 [m][kp], x: int16 [p][kp] (B transposed; kp a multiple of 8, p of 4, zero padded),
  ;; out: int16 [m][p]. Both operands take any int16 value, so one i32x4.dot_i16x8_s lane
  ;; (a0·x0 + a1·x1) can reach 2^31 — only as (−32768)² + (−32768)², which wraps to −2^31, a value
  ;; no other pair produces. Each dot is widened to i64 at once and every lane equal to −2^31 counts
  ;; one wrap, added back as 2^32: the exact integer sum. This is `MatMulAct` of docs/semantics.md.
  (func (export "gemm16")
    (param $a i32) (param $x i32) (param $out i32) (param $m i32) (param $p i32) (param $kp i32)
    (param $mul i32) (param $shift i32)
    (local $i i32) (local $j i32) (local $k i32) (local $rowBytes i32) (local $arow i32)
    (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $o i32)
    (local $av v128) (local $d v128) (local $wrap v128) (local $l0 v128) (local $h0 v128) (local $c0 v128) (local $l1 v128) (local $h1 v128) (local $c1 v128) (local $l2 v128) (local $h2 v128) (local $c2 v128) (local $l3 v128) (local $h3 v128) (local $c3 v128)
    (local $mm i64) (local $s i64) (local $half i64)
    (local.set $wrap (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
    (local.set $rowBytes (i32.shl (local.get $kp) (i32.const 1)))
    (local.set $mm (i64.extend_i32_s (local.get $mul)))
    (local.set $s (i64.extend_i32_s (local.get $shift)))
    (local.set $half
      (if (result i64) (i64.eqz (local.get $s))
        (then (i64.const 0))
        (else (i64.shl (i64.const 1) (i64.sub (local.get $s) (i64.const 1))))))
    (local.set $i (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $arow (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $p)))
            (local.set $x0 (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $rowBytes))))
            (local.set $x1 (i32.add (local.get $x0) (local.get $rowBytes)))
            (local.set $x2 (i32.add (local.get $x1) (local.get $rowBytes)))
            (local.set $x3 (i32.add (local.get $x2) (local.get $rowBytes)))
            (local.set $l0 (v128.const i64x2 0 0))
            (local.set $h0 (v128.const i64x2 0 0))
            (local.set $c0 (v128.const i32x4 0 0 0 0))
            (local.set $l1 (v128.const i64x2 0 0))
            (local.set $h1 (v128.const i64x2 0 0))
            (local.set $c1 (v128.const i32x4 0 0 0 0))
            (local.set $l2 (v128.const i64x2 0 0))
            (local.set $h2 (v128.const i64x2 0 0))
            (local.set $c2 (v128.const i32x4 0 0 0 0))
            (local.set $l3 (v128.const i64x2 0 0))
            (local.set $h3 (v128.const i64x2 0 0))
            (local.set $c3 (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.const 0))
            (block $inner_done
              (loop $inner
                (br_if $inner_done (i32.ge_u (local.get $k) (local.get $rowBytes)))
                (local.set $av (v128.load (i32.add (local.get $arow) (local.get $k))))
                (local.set $d (i32x4.dot_i16x8_s (local.get $av) (v128.load (i32.add (local.get $x0) (local.get $k)))))
                (local.set $l0 (i64x2.add (local.get $l0) (i64x2.extend_low_i32x4_s (local.get $d))))
                (local.set $h0 (i64x2.add (local.get $h0) (i64x2.extend_high_i32x4_s (local.get $d))))
                (local.set $c0 (i32x4.sub (local.get $c0) (i32x4.eq (local.get $d) (local.get $wrap))))
                (local.set $d (i32x4.dot_i16x8_s (local.get $av) (v128.load (i32.add (local.get $x1) (local.get $k)))))
                (local.set $l1 (i64x2.add (local.get $l1) (i64x2.extend_low_i32x4_s (local.get $d))))
                (local.set $h1 (i64x2.add (local.get $h1) (i64x2.extend_high_i32x4_s (local.get $d))))
                (local.set $c1 (i32x4.sub (local.get $c1) (i32x4.eq (local.get $d) (local.get $wrap))))
                (local.set $d (i32x4.dot_i16x8_s (local.get $av) (v128.load (i32.add (local.get $x2) (local.get $k)))))
                (local.set $l2 (i64x2.add (local.get $l2) (i64x2.extend_low_i32x4_s (local.get $d))))
                (local.set $h2 (i64x2.add (local.get $h2) (i64x2.extend_high_i32x4_s (local.get $d))))
                (local.set $c2 (i32x4.sub (local.get $c2) (i32x4.eq (local.get $d) (local.get $wrap))))
                (local.set $d (i32x4.dot_i16x8_s (local.get $av) (v128.load (i32.add (local.get $x3) (local.get $k)))))
                (local.set $l3 (i64x2.add (local.get $l3) (i64x2.extend_low_i32x4_s (local.get $d))))
                (local.set $h3 (i64x2.add (local.get $h3) (i64x2.extend_high_i32x4_s (local.get $d))))
                (local.set $c3 (i32x4.sub (local.get $c3) (i32x4.eq (local.get $d) (local.get $wrap))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $inner)))
            (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $p)) (local.get $j)) (i32.const 1))))
            (i32.store16 offset=0 (local.get $o)
              (call $requant (call $hsum64 (local.get $l0) (local.get $h0) (local.get $c0)) (i64.const 0) (local.get $mm) (local.get $s) (local.get $half)))
            (i32.store16 offset=2 (local.get $o)
              (call $requant (call $hsum64 (local.get $l1) (local.get $h1) (local.get $c1)) (i64.const 0) (local.get $mm) (local.get $s) (local.get $half)))
            (i32.store16 offset=4 (local.get $o)
              (call $requant (call $hsum64 (local.get $l2) (local.get $h2) (local.get $c2)) (i64.const 0) (local.get $mm) (local.get $s) (local.get $half)))
            (i32.store16 offset=6 (local.get $o)
              (call $requant (call $hsum64 (local.get $l3) (local.get $h3) (local.get $c3)) (i64.const 0) (local.get $mm) (local.get $s) (local.get $half)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
)
