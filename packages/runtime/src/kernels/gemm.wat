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
        (br $rows)))))
