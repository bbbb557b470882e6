// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title OneStep
/// @notice One output value of one integer op, recomputed on-chain under docs/semantics.md (the
///         runtime's `evalOne`). The values the op reads arrive as a tape, in the exact order the
///         reference definition reads them; the library computes every (input, index) itself and
///         rejects a tape that names anything else, so a caller cannot choose what is read. Opening
///         each tape value against its tensor root is the dispute game's job.
/// @dev    Every op of the runtime: Reshape, Relu, Conv, Dense, MaxPool, AveragePool, LeakyRelu, Clip,
///         Lut, ChannelAffine, Mul, Add, Transpose, Concat, MatMulAct, Softmax (masked or not), LRN,
///         Gather, Slice, Tile, Expand, MaskFill, Norm.
library OneStep {
    /// @notice One value read by the op: input position, flat index in that input, value.
    struct Read {
        uint8 input;
        uint32 index;
        int64 value;
    }

    uint8 internal constant RESHAPE = 1;
    uint8 internal constant RELU = 2;
    uint8 internal constant CONV = 3;
    uint8 internal constant DENSE = 4;
    uint8 internal constant MAXPOOL = 5;
    uint8 internal constant AVERAGEPOOL = 6;
    uint8 internal constant LEAKYRELU = 7;
    uint8 internal constant CLIP = 8;
    uint8 internal constant LUT = 9;
    uint8 internal constant CHANNELAFFINE = 10;
    uint8 internal constant MUL = 11;
    uint8 internal constant ADD = 12;
    uint8 internal constant TRANSPOSE = 13;
    uint8 internal constant CONCAT = 14;
    uint8 internal constant MATMULACT = 15;
    uint8 internal constant SOFTMAX = 16;
    uint8 internal constant LRN = 17;
    uint8 internal constant GATHER = 18;
    uint8 internal constant SLICE = 19;
    uint8 internal constant TILE = 20;
    uint8 internal constant EXPAND = 21;
    uint8 internal constant MASKFILL = 22;
    uint8 internal constant NORM = 23;

    error UnsupportedOp(uint8 op);
    error BadParams(uint8 op, uint256 expected, uint256 found);
    error TapeMismatch(uint256 position, uint8 expectedInput, uint256 expectedIndex, uint8 foundInput, uint256 foundIndex);
    error TapeLength(uint256 expected, uint256 found);

    /// @dev The tape in memory with a read position: one stack slot for the whole reader.
    struct Tape {
        Read[] reads;
        uint256 position;
    }

    /// @notice The op's output value at flat index `outIndex`, from its parameters and the tape.
    function evalOne(uint8 op, int256[] calldata p, uint256 outIndex, Read[] calldata tape) internal pure returns (int256 value) {
        Tape memory t = Tape({reads: tape, position: 0});
        if (op == RESHAPE) {
            _params(op, p, 0);
            value = _read(t, 0, outIndex);
        } else if (op == RELU) {
            _params(op, p, 0);
            int256 x = _read(t, 0, outIndex);
            value = x > 0 ? x : int256(0);
        } else if (op == CONV) {
            _params(op, p, 15);
            value = _conv(p, outIndex, t);
        } else if (op == DENSE) {
            value = _dense(p, outIndex, t);
        } else if (op == MAXPOOL || op == AVERAGEPOOL) {
            _params(op, p, 15);
            value = _pool(op, p, outIndex, t);
        } else if (op == LEAKYRELU) {
            _params(op, p, 0);
            int256 x = _read(t, 0, outIndex);
            if (x >= 0) value = x;
            else {
                int256 mul = _read(t, 1, 0);
                value = sat16(rshift(x * mul, uint256(_read(t, 2, 0))));
            }
        } else if (op == CLIP) {
            _params(op, p, 2);
            int256 x = _read(t, 0, outIndex);
            value = x < p[0] ? p[0] : x;
            if (value > p[1]) value = p[1];
        } else if (op == LUT) {
            _params(op, p, 0);
            value = _lut(outIndex, t);
        } else if (op == CHANNELAFFINE) {
            _params(op, p, 2);
            uint256 ch = (outIndex / uint256(p[0])) % uint256(p[1]);
            int256 x = _read(t, 0, outIndex);
            int256 mul = _read(t, 1, ch);
            int256 add = _read(t, 2, ch);
            value = sat16(rshift(x * mul + add, uint256(_read(t, 3, 0))));
        } else if (op == MUL) {
            value = _mul(p, outIndex, t);
        } else if (op == ADD) {
            value = _add(p, outIndex, t);
        } else if (op == TRANSPOSE) {
            value = _read(t, 0, _transposeSource(p, outIndex));
        } else if (op == CONCAT) {
            value = _concat(p, outIndex, t);
        } else if (op == MATMULACT) {
            value = _matmulAct(p, outIndex, t);
        } else if (op == SOFTMAX) {
            value = _softmax(p, outIndex, t);
        } else if (op == LRN) {
            _params(op, p, 3);
            value = _lrn(p, outIndex, t);
        } else if (op == GATHER) {
            value = _gather(p, outIndex, t);
        } else if (op == SLICE) {
            value = _read(t, 0, _sliceSource(p, outIndex));
        } else if (op == TILE) {
            value = _read(t, 0, _tileSource(p, outIndex));
        } else if (op == EXPAND) {
            uint256 rank = uint256(p[0]);
            if (p.length != 1 + 2 * rank) revert BadParams(op, 1 + 2 * rank, p.length);
            value = _read(t, 0, broadcastIndex(p, 1, 1 + rank, rank, outIndex));
        } else if (op == MASKFILL) {
            value = _maskFill(p, outIndex, t);
        } else if (op == NORM) {
            _params(op, p, 4);
            value = _norm(p, outIndex, t);
        } else {
            revert UnsupportedOp(op);
        }
        // INVARIANT: every value on the tape was read by the definition, in order.
        if (t.position != tape.length) revert TapeLength(t.position, tape.length);
    }

    // ─── dot products, term by term (level 3 of a dispute) ─────────────────────────────────────
    // Conv, Dense and MatMulAct compute value = finish(acc_K) with acc_0 = bias (0 for MatMulAct)
    // and acc_{i+1} = acc_i + term_i. A dispute over one such value can bisect over i, so the
    // contract only ever evaluates one term, the bias or the finish — whatever the fan-in K.
    // Conv's terms run over every kernel position (ic, ky, kx) in that order; a position in the
    // padding contributes 0 and reads nothing. Softmax folds the same way over 2d steps with the
    // state (max, sum) packed as sum · 2^16 + (max + 32768): steps 0..d−1 take the running max of
    // the d values, steps d..2d−1 add each value's exponential; acc_0 = 0 (max −32768, sum 0).
    // A masked softmax leaves −32768 out of both. Norm folds over the d values of the row with the
    // state (S1, S2) = (Σx, Σx²) packed as S2 · 2^32 + (S1 + 2^31); step 0 starts from (0, 0).

    /// @notice Whether `op` is a dot product evaluated term by term in a dispute.
    function isSum(uint8 op) internal pure returns (bool) {
        return op == CONV || op == DENSE || op == MATMULACT || op == SOFTMAX || op == NORM;
    }

    /// @notice K, the number of terms of one output value of a dot-product op.
    function termCount(uint8 op, int256[] calldata p) internal pure returns (uint256) {
        if (op == CONV) return (uint256(p[12]) / uint256(p[1])) * uint256(p[2]) * uint256(p[3]);
        if (op == DENSE) return uint256(p[1]);
        if (op == MATMULACT) return uint256(p[2]);
        if (op == SOFTMAX) return 2 * uint256(p[0]);
        if (op == NORM) return uint256(p[0]);
        revert UnsupportedOp(op);
    }

    /// @notice acc_{i+1} from acc_i (`accBefore`; for i = 0 the bias is read from the tape instead).
    function evalTerm(uint8 op, int256[] calldata p, uint256 outIndex, uint256 i, int256 accBefore, Read[] calldata tape)
        internal
        pure
        returns (int256 acc)
    {
        Tape memory t = Tape({reads: tape, position: 0});
        if (i >= termCount(op, p)) revert BadParams(op, termCount(op, p), i);
        if (op == CONV) acc = _convStep(p, outIndex, i, accBefore, t);
        else if (op == DENSE) acc = _denseStep(p, outIndex, i, accBefore, t);
        else if (op == MATMULACT) acc = _matmulStep(p, outIndex, i, accBefore, t);
        else if (op == SOFTMAX) acc = _softmaxStep(p, outIndex, i, i == 0 ? int256(0) : accBefore, t);
        else acc = _normStep(p, outIndex, i, accBefore, t);
        if (t.position != tape.length) revert TapeLength(t.position, tape.length);
    }

    /// @notice The output value from the full accumulator acc_K: requantized by the op's multiplier and shift.
    function evalFinish(uint8 op, int256[] calldata p, uint256 outIndex, int256 acc, Read[] calldata tape)
        internal
        pure
        returns (int256 value)
    {
        Tape memory t = Tape({reads: tape, position: 0});
        if (op == CONV) {
            _params(op, p, 15);
            uint256 oc = (outIndex / (uint256(p[11]) * uint256(p[10]))) % uint256(p[0]);
            int256 mul = _read(t, 3, oc);
            value = requant(acc, mul, _read(t, 4, oc));
        } else if (op == DENSE) {
            _params(op, p, 2);
            uint256 j = outIndex % uint256(p[0]);
            int256 mul = _read(t, 3, j);
            value = requant(acc, mul, _read(t, 4, j));
        } else if (op == MATMULACT) {
            _matmulBases(p, outIndex);
            int256 mul = _read(t, 2, 0);
            value = requant(acc, mul, _read(t, 3, 0));
        } else if (op == SOFTMAX) {
            value = _softmaxFinish(p, outIndex, acc, t);
        } else if (op == NORM) {
            _params(op, p, 4);
            int256 s1 = (acc & 0xFFFFFFFF) - 0x80000000;
            value = _normFinish(p, outIndex, s1, acc >> 32, t);
        } else {
            revert UnsupportedOp(op);
        }
        if (t.position != tape.length) revert TapeLength(t.position, tape.length);
    }

    function _convStep(int256[] calldata p, uint256 outIndex, uint256 i, int256 acc, Tape memory t) private pure returns (int256) {
        _params(CONV, p, 15);
        uint256 oc = (outIndex / (uint256(p[11]) * uint256(p[10]))) % uint256(p[0]);
        if (i == 0) acc = _read(t, 2, oc);
        return acc + _convTerm(p, outIndex, oc, i, t);
    }

    function _denseStep(int256[] calldata p, uint256 outIndex, uint256 i, int256 acc, Tape memory t) private pure returns (int256) {
        _params(DENSE, p, 2);
        uint256 n = uint256(p[0]);
        uint256 k = uint256(p[1]);
        uint256 j = outIndex % n;
        if (i == 0) acc = _read(t, 2, j);
        int256 x = _read(t, 0, (outIndex / n) * k + i);
        return acc + x * _read(t, 1, j * k + i);
    }

    function _matmulStep(int256[] calldata p, uint256 outIndex, uint256 i, int256 acc, Tape memory t) private pure returns (int256) {
        (uint256 oa, uint256 ob, uint256 n) = _matmulBases(p, outIndex);
        if (i == 0) acc = 0;
        int256 a = _read(t, 0, oa + i);
        return acc + a * _read(t, 1, ob + i * n);
    }

    /// @dev Step i of a softmax's fold: the running max over the d values, then the sum of exponentials.
    function _softmaxStep(int256[] calldata p, uint256 outIndex, uint256 i, int256 acc, Tape memory t) private pure returns (int256) {
        bool masked = _softmaxMasked(p);
        uint256 d = uint256(p[0]);
        uint256 inner = uint256(p[1]);
        uint256 base = (outIndex / (d * inner)) * d * inner + (outIndex % inner);
        int256 max = (acc & 0xFFFF) - 32768;
        int256 sum = acc >> 16;
        if (i < d) {
            int256 v = _read(t, 0, base + i * inner);
            if (v > max && !(masked && v == -32768)) max = v;
        } else {
            int256 v = _read(t, 0, base + (i - d) * inner);
            if (!(masked && v == -32768)) sum += _expAt(max - v, uint256(p[2]), t);
        }
        return sum * 65536 + (max + 32768);
    }

    /// @dev A softmax's value from its fold state: 0 for a group whose every value is masked.
    function _softmaxFinish(int256[] calldata p, uint256 outIndex, int256 acc, Tape memory t) private pure returns (int256) {
        bool masked = _softmaxMasked(p);
        int256 max = (acc & 0xFFFF) - 32768;
        // A live value of a masked softmax is above −32768, so the max stays there only when none is live.
        if (masked && max == -32768) return 0;
        int256 sum = acc >> 16;
        if (sum <= 0) revert BadParams(SOFTMAX, 1, 0);
        int256 v = _read(t, 0, outIndex);
        int256 own = masked && v == -32768 ? int256(0) : _expAt(max - v, uint256(p[2]), t);
        return (2 * 32767 * own + sum) / (2 * sum);
    }

    /// @dev p = [d, inner, r] or [d, inner, r, 1] for a masked softmax (−32768 left out).
    function _softmaxMasked(int256[] calldata p) private pure returns (bool) {
        if (p.length == 4 && p[3] == 1) return true;
        _params(SOFTMAX, p, 3);
        return false;
    }

    /// @dev Step i of a Norm's fold: S1 += x_i, S2 += x_i² over the row.
    function _normStep(int256[] calldata p, uint256 outIndex, uint256 i, int256 acc, Tape memory t) private pure returns (int256) {
        _params(NORM, p, 4);
        int256 s1 = i == 0 ? int256(0) : (acc & 0xFFFFFFFF) - 0x80000000;
        int256 s2 = i == 0 ? int256(0) : acc >> 32;
        int256 v = _read(t, 0, outIndex - (outIndex % uint256(p[0])) + i);
        s1 += v;
        s2 += v * v;
        return s2 * 0x100000000 + (s1 + 0x80000000);
    }

    /// @dev Term i of a convolution: x · w at kernel position (ic, ky, kx), or 0 in the padding.
    function _convTerm(int256[] calldata p, uint256 outIndex, uint256 oc, uint256 i, Tape memory t) private pure returns (int256) {
        ConvAt memory a;
        uint256 kk = uint256(p[2]) * uint256(p[3]);
        a.ox = int256(outIndex % uint256(p[11]));
        a.oy = int256((outIndex / uint256(p[11])) % uint256(p[10]));
        a.oc = oc;
        a.cg = uint256(p[12]) / uint256(p[1]);
        uint256 b = outIndex / (uint256(p[11]) * uint256(p[10]) * uint256(p[0]));
        a.inBase = b * uint256(p[12]) + (oc / (uint256(p[0]) / uint256(p[1]))) * a.cg;
        a.ic = i / kk;
        a.ky = int256((i / uint256(p[3])) % uint256(p[2]));
        int256 kx = int256(i % uint256(p[3]));
        a.iy = a.oy * p[4] - p[8] + a.ky * p[6];
        int256 ix = a.ox * p[5] - p[9] + kx * p[7];
        if (a.iy < 0 || a.iy >= p[13] || ix < 0 || ix >= p[14]) return 0;
        return _convMac(p, a, kx, ix, t);
    }

    /// @dev Where output `outIndex` of a MatMulAct starts reading A and B, and B's row stride n.
    function _matmulBases(int256[] calldata p, uint256 outIndex) private pure returns (uint256 oa, uint256 ob, uint256 n) {
        uint256 br = uint256(p[3]);
        if (p.length != 4 + 3 * br) revert BadParams(MATMULACT, 4 + 3 * br, p.length);
        uint256 m = uint256(p[0]);
        n = uint256(p[1]);
        uint256 k = uint256(p[2]);
        uint256 bi = outIndex / (n * m);
        oa = broadcastIndex(p, 4, 4 + br, br, bi) * m * k + ((outIndex / n) % m) * k;
        ob = broadcastIndex(p, 4, 4 + 2 * br, br, bi) * k * n + (outIndex % n);
    }

    /// @notice Round half toward +infinity: floor((v + 2^(s-1)) / 2^s); v for s = 0.
    function rshift(int256 v, uint256 s) internal pure returns (int256) {
        if (s == 0) return v;
        return (v + int256(1 << (s - 1))) >> s;
    }

    function sat16(int256 v) internal pure returns (int256) {
        return v > 32767 ? int256(32767) : v < -32768 ? int256(-32768) : v;
    }

    /// @notice sat16(rshift(v * m, s)).
    function requant(int256 v, int256 m, int256 s) internal pure returns (int256) {
        return sat16(rshift(v * m, uint256(s)));
    }

    /// @notice Division rounding half toward +infinity: floor((2a + b) / 2b), b > 0.
    function roundDiv(int256 a, int256 b) internal pure returns (int256) {
        int256 n = 2 * a + b;
        int256 d = 2 * b;
        int256 q = n / d;
        if (n % d != 0 && n < 0) q -= 1;
        return q;
    }

    function _read(Tape memory t, uint8 input, uint256 index) private pure returns (int256) {
        uint256 position = t.position;
        if (position >= t.reads.length) revert TapeLength(position + 1, t.reads.length);
        Read memory r = t.reads[position];
        if (r.input != input || r.index != index) revert TapeMismatch(position, input, index, r.input, r.index);
        t.position = position + 1;
        return r.value;
    }

    function _params(uint8 op, int256[] calldata p, uint256 n) private pure {
        if (p.length != n) revert BadParams(op, n, p.length);
    }

    /// @dev p = [m, group, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, c, h, w]; inputs x, w, bias, MUL, SHIFT.
    function _conv(int256[] memory p, uint256 outIndex, Tape memory t) private pure returns (int256) {
        uint256 oc = (outIndex / (uint256(p[11]) * uint256(p[10]))) % uint256(p[0]);
        int256 acc = _read(t, 2, oc);
        acc += _convSum(p, outIndex, oc, t);
        int256 mul = _read(t, 3, oc);
        return requant(acc, mul, _read(t, 4, oc));
    }

    /// @dev Window position of one output value of a convolution, kept in memory (stack depth).
    struct ConvAt {
        int256 ox;
        int256 oy;
        uint256 oc;
        uint256 cg;
        uint256 inBase;
        uint256 ic;
        int256 ky;
        int256 iy;
    }

    function _convSum(int256[] memory p, uint256 outIndex, uint256 oc, Tape memory t) private pure returns (int256 acc) {
        ConvAt memory a;
        a.ox = int256(outIndex % uint256(p[11]));
        a.oy = int256((outIndex / uint256(p[11])) % uint256(p[10]));
        a.oc = oc;
        a.cg = uint256(p[12]) / uint256(p[1]);
        uint256 b = outIndex / (uint256(p[11]) * uint256(p[10]) * uint256(p[0]));
        a.inBase = b * uint256(p[12]) + (oc / (uint256(p[0]) / uint256(p[1]))) * a.cg;
        for (a.ic = 0; a.ic < a.cg; a.ic++) {
            for (a.ky = 0; a.ky < p[2]; a.ky++) {
                a.iy = a.oy * p[4] - p[8] + a.ky * p[6];
                if (a.iy < 0 || a.iy >= p[13]) continue;
                for (int256 kx = 0; kx < p[3]; kx++) {
                    int256 ix = a.ox * p[5] - p[9] + kx * p[7];
                    if (ix < 0 || ix >= p[14]) continue;
                    acc += _convMac(p, a, kx, ix, t);
                }
            }
        }
    }

    function _convMac(int256[] memory p, ConvAt memory a, int256 kx, int256 ix, Tape memory t) private pure returns (int256) {
        int256 x = _read(t, 0, ((a.inBase + a.ic) * uint256(p[13]) + uint256(a.iy)) * uint256(p[14]) + uint256(ix));
        return x * _read(t, 1, ((a.oc * a.cg + a.ic) * uint256(p[2]) + uint256(a.ky)) * uint256(p[3]) + uint256(kx));
    }

    /// @dev p = [n, k]; inputs x, w [n, k], bias, MUL, SHIFT.
    function _dense(int256[] calldata p, uint256 outIndex, Tape memory t) private pure returns (int256) {
        _params(DENSE, p, 2);
        uint256 n = uint256(p[0]);
        uint256 k = uint256(p[1]);
        uint256 j = outIndex % n;
        uint256 r = outIndex / n;
        int256 acc = _read(t, 2, j);
        for (uint256 i = 0; i < k; i++) {
            int256 x = _read(t, 0, r * k + i);
            acc += x * _read(t, 1, j * k + i);
        }
        int256 mul = _read(t, 3, j);
        return requant(acc, mul, _read(t, 4, j));
    }

    /// @dev Running state of one pooling window, kept in memory (stack depth).
    struct PoolAt {
        int256 ox;
        int256 oy;
        uint256 base;
        int256 acc;
        int256 inside;
        int256 padded;
    }

    /// @dev p = [kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow, h, w, includePad].
    function _pool(uint8 op, int256[] memory p, uint256 outIndex, Tape memory t) private pure returns (int256) {
        PoolAt memory a;
        a.ox = int256(outIndex % uint256(p[11]));
        a.oy = int256((outIndex / uint256(p[11])) % uint256(p[10]));
        a.base = (outIndex / (uint256(p[11]) * uint256(p[10]))) * uint256(p[12]);
        a.acc = op == MAXPOOL ? int256(-32768) : int256(0);
        for (int256 ky = 0; ky < p[0]; ky++) {
            int256 iy = a.oy * p[2] - p[6] + ky * p[4];
            if (iy < -p[6] || iy >= p[12] + p[8]) continue;
            for (int256 kx = 0; kx < p[1]; kx++) {
                int256 ix = a.ox * p[3] - p[7] + kx * p[5];
                if (ix < -p[7] || ix >= p[13] + p[9]) continue;
                a.padded++;
                if (iy < 0 || iy >= p[12] || ix < 0 || ix >= p[13]) continue;
                _poolVisit(op, a, (a.base + uint256(iy)) * uint256(p[13]) + uint256(ix), t);
            }
        }
        if (op == MAXPOOL) return a.acc;
        return roundDiv(a.acc, p[14] == 1 ? a.padded : a.inside);
    }

    function _poolVisit(uint8 op, PoolAt memory a, uint256 index, Tape memory t) private pure {
        a.inside++;
        int256 v = _read(t, 0, index);
        if (op == MAXPOOL) {
            if (v > a.acc) a.acc = v;
        } else {
            a.acc += v;
        }
    }

    /// @dev Interpolated table: u = x + 32768, k = u >> 4, y = sat16(T[k] + rshift((T[k+1] − T[k]) · (u & 15), 4)).
    function _lut(uint256 outIndex, Tape memory t) private pure returns (int256) {
        int256 u = _read(t, 0, outIndex) + 32768;
        uint256 k = uint256(u >> 4);
        int256 lo = _read(t, 1, k);
        int256 f = u & 15;
        // The closing entry is only read when the fraction is non-zero.
        if (f == 0) return sat16(lo);
        return sat16(lo + rshift((_read(t, 1, k + 1) - lo) * f, 4));
    }

    /// @notice The input flat index read by output flat index `outIndex` under numpy broadcasting;
    ///         `inShape` is left-padded with ones to the output's rank.
    function broadcastIndex(int256[] memory p, uint256 outAt, uint256 inAt, uint256 rank, uint256 outIndex) internal pure returns (uint256 inIndex) {
        uint256 inStride = 1;
        uint256 rest = outIndex;
        for (uint256 i = rank; i > 0; i--) {
            uint256 d = uint256(p[outAt + i - 1]);
            uint256 coord = rest % d;
            rest /= d;
            uint256 di = uint256(p[inAt + i - 1]);
            if (di != 1) inIndex += coord * inStride;
            inStride *= di;
        }
    }

    /// @dev p = [rank, out shape, a shape, b shape] (shapes left-padded to rank); inputs a, b, MUL, SHIFT.
    function _mul(int256[] memory p, uint256 outIndex, Tape memory t) private pure returns (int256) {
        uint256 rank = uint256(p[0]);
        if (p.length != 1 + 3 * rank) revert BadParams(MUL, 1 + 3 * rank, p.length);
        int256 a = _read(t, 0, broadcastIndex(p, 1, 1 + rank, rank, outIndex));
        int256 b = _read(t, 1, broadcastIndex(p, 1, 1 + 2 * rank, rank, outIndex));
        int256 mul = _read(t, 2, 0);
        return requant(a * b, mul, _read(t, 3, 0));
    }

    /// @dev p = [n, rank, out shape, n input shapes] (left-padded to rank); inputs X_1..X_n, MUL [n], SHIFT.
    function _add(int256[] memory p, uint256 outIndex, Tape memory t) private pure returns (int256 acc) {
        uint256 n = uint256(p[0]);
        uint256 rank = uint256(p[1]);
        if (p.length != 2 + (n + 1) * rank) revert BadParams(ADD, 2 + (n + 1) * rank, p.length);
        for (uint256 k = 0; k < n; k++) {
            int256 x = _read(t, uint8(k), broadcastIndex(p, 2, 2 + (k + 1) * rank, rank, outIndex));
            acc += x * _read(t, uint8(n), k);
        }
        return sat16(rshift(acc, uint256(_read(t, uint8(n + 1), 0))));
    }

    /// @dev p = [rank, in shape, perm, in strides].
    function _transposeSource(int256[] memory p, uint256 outIndex) private pure returns (uint256 src) {
        uint256 rank = uint256(p[0]);
        if (p.length != 1 + 3 * rank) revert BadParams(TRANSPOSE, 1 + 3 * rank, p.length);
        uint256 rest = outIndex;
        for (uint256 d = rank; d > 0; d--) {
            uint256 axis = uint256(p[1 + rank + d - 1]);
            uint256 size = uint256(p[1 + axis]);
            src += (rest % size) * uint256(p[1 + 2 * rank + axis]);
            rest /= size;
        }
    }

    /// @dev p = [n, inner, total, d_0 … d_{n−1}] (each input's size along the axis); inputs X_1..X_n, MUL [n], SHIFT.
    function _concat(int256[] memory p, uint256 outIndex, Tape memory t) private pure returns (int256) {
        uint256 n = uint256(p[0]);
        if (p.length != 3 + n) revert BadParams(CONCAT, 3 + n, p.length);
        uint256 inner = uint256(p[1]);
        uint256 total = uint256(p[2]);
        uint256 outer = outIndex / (total * inner);
        uint256 along = (outIndex / inner) % total;
        uint256 within = outIndex % inner;
        for (uint256 k = 0; k < n; k++) {
            uint256 d = uint256(p[3 + k]);
            if (along < d) {
                int256 x = _read(t, uint8(k), (outer * d + along) * inner + within);
                int256 mul = _read(t, uint8(n), k);
                return sat16(rshift(x * mul, uint256(_read(t, uint8(n + 1), 0))));
            }
            along -= d;
        }
        revert BadParams(CONCAT, total, along);
    }

    /// @dev p = [m, n, k, batchRank, batch out, batch a, batch b] (batch shapes left-padded); inputs A, B, MUL, SHIFT.
    function _matmulAct(int256[] memory p, uint256 outIndex, Tape memory t) private pure returns (int256 acc) {
        uint256 br = uint256(p[3]);
        if (p.length != 4 + 3 * br) revert BadParams(MATMULACT, 4 + 3 * br, p.length);
        uint256 m = uint256(p[0]);
        uint256 n = uint256(p[1]);
        uint256 k = uint256(p[2]);
        uint256 bi = outIndex / (n * m);
        uint256 oa = broadcastIndex(p, 4, 4 + br, br, bi) * m * k + ((outIndex / n) % m) * k;
        uint256 ob = broadcastIndex(p, 4, 4 + 2 * br, br, bi) * k * n + (outIndex % n);
        for (uint256 i = 0; i < k; i++) {
            int256 a = _read(t, 0, oa + i);
            acc += a * _read(t, 1, ob + i * n);
        }
        int256 mul = _read(t, 2, 0);
        return requant(acc, mul, _read(t, 3, 0));
    }

    /// @dev p = [d, inner, r] (or [d, inner, r, 1]: masked); inputs X, the exp table (4097 int32 entries, Q16).
    function _softmax(int256[] calldata p, uint256 outIndex, Tape memory t) private pure returns (int256) {
        bool masked = _softmaxMasked(p);
        uint256 d = uint256(p[0]);
        uint256 inner = uint256(p[1]);
        uint256 base = (outIndex / (d * inner)) * d * inner + (outIndex % inner);
        int256 max = -32768;
        bool any;
        for (uint256 j = 0; j < d; j++) {
            int256 v = _read(t, 0, base + j * inner);
            if (masked && v == -32768) continue;
            any = true;
            if (v > max) max = v;
        }
        if (!any) return 0;
        int256 sum;
        for (uint256 j = 0; j < d; j++) {
            int256 v = _read(t, 0, base + j * inner);
            if (!(masked && v == -32768)) sum += _expAt(max - v, uint256(p[2]), t);
        }
        int256 x = _read(t, 0, outIndex);
        int256 own = masked && x == -32768 ? int256(0) : _expAt(max - x, uint256(p[2]), t);
        return (2 * 32767 * own + sum) / (2 * sum);
    }

    /// @dev exp(−dist · step) from the table with step 2^r: T[k] + rshift((T[k+1] − T[k]) · f, r), 0 beyond the table.
    function _expAt(int256 dist, uint256 r, Tape memory t) private pure returns (int256) {
        uint256 k = uint256(dist) >> r;
        if (k >= 4096) return 0;
        int256 f = dist - int256(k << r);
        int256 lo = _read(t, 1, k);
        if (f == 0) return lo;
        return lo + rshift((_read(t, 1, k + 1) - lo) * f, r);
    }

    /// @dev p = [size, c, plane]; inputs X, the table T, SHIFT.
    function _lrn(int256[] memory p, uint256 outIndex, Tape memory t) private pure returns (int256) {
        uint256 size = uint256(p[0]);
        uint256 c = uint256(p[1]);
        uint256 plane = uint256(p[2]);
        uint256 ch = (outIndex / plane) % c;
        uint256 lo = ch >= (size - 1) / 2 ? ch - (size - 1) / 2 : 0;
        uint256 hi = ch + size / 2;
        if (hi > c - 1) hi = c - 1;
        int256 sq = _lrnSquares(outIndex - ch * plane, plane, lo, hi, t);
        int256 x = _read(t, 0, outIndex);
        int256 factor = _read(t, 1, _lrnBucket(uint256(sq)));
        return sat16(rshift(x * factor, uint256(_read(t, 2, 0))));
    }

    function _lrnSquares(uint256 base, uint256 plane, uint256 lo, uint256 hi, Tape memory t) private pure returns (int256 sq) {
        for (uint256 k = lo; k <= hi; k++) {
            int256 v = _read(t, 0, base + k * plane);
            sq += v * v;
        }
    }

    /// @dev Sums of squares below 256 index the table directly; above, 8 mantissa bits and an exponent.
    function _lrnBucket(uint256 q) private pure returns (uint256) {
        if (q < 256) return q;
        uint256 e = 1;
        while (q >= 1 << (e + 8)) e++;
        return 256 + (e - 1) * 128 + ((q >> e) - 128);
    }

    // ─── ops of language models ────────────────────────────────────────────────────────────────

    /// @dev p = [dim, inner, nIdx]; inputs X, IDX. y = X[o, j, t] with j = IDX[q] (+ dim if negative), 0 outside [0, dim).
    function _gather(int256[] calldata p, uint256 outIndex, Tape memory t) private pure returns (int256) {
        _params(GATHER, p, 3);
        uint256 dim = uint256(p[0]);
        uint256 inner = uint256(p[1]);
        uint256 nIdx = uint256(p[2]);
        int256 j = _read(t, 1, (outIndex / inner) % nIdx);
        if (j < 0) j += int256(dim);
        if (j < 0 || j >= int256(dim)) return 0;
        return _read(t, 0, ((outIndex / (nIdx * inner)) * dim + uint256(j)) * inner + (outIndex % inner));
    }

    /// @dev p = [rank, out shape, in strides, starts, steps]: source Σ (start_d + c_d · step_d) · stride_d.
    function _sliceSource(int256[] calldata p, uint256 outIndex) private pure returns (uint256) {
        uint256 rank = uint256(p[0]);
        if (p.length != 1 + 4 * rank) revert BadParams(SLICE, 1 + 4 * rank, p.length);
        uint256 rest = outIndex;
        int256 src;
        for (uint256 d = rank; d > 0; d--) {
            uint256 size = uint256(p[d]);
            int256 c = int256(rest % size);
            rest /= size;
            src += (p[2 * rank + d] + c * p[3 * rank + d]) * p[rank + d];
        }
        return uint256(src);
    }

    /// @dev p = [rank, out shape, in shape, in strides]: source Σ (c_d mod in_d) · stride_d.
    function _tileSource(int256[] calldata p, uint256 outIndex) private pure returns (uint256 src) {
        uint256 rank = uint256(p[0]);
        if (p.length != 1 + 3 * rank) revert BadParams(TILE, 1 + 3 * rank, p.length);
        uint256 rest = outIndex;
        for (uint256 d = rank; d > 0; d--) {
            uint256 size = uint256(p[d]);
            src += ((rest % size) % uint256(p[rank + d])) * uint256(p[2 * rank + d]);
            rest /= size;
        }
    }

    /// @dev p = [rank, out shape, x shape, mask shape, fill] (shapes left-padded); inputs X, M.
    function _maskFill(int256[] calldata p, uint256 outIndex, Tape memory t) private pure returns (int256) {
        uint256 rank = uint256(p[0]);
        if (p.length != 2 + 3 * rank) revert BadParams(MASKFILL, 2 + 3 * rank, p.length);
        if (_read(t, 1, broadcastIndex(p, 1, 1 + 2 * rank, rank, outIndex)) != 0) return p[1 + 3 * rank];
        return _read(t, 0, broadcastIndex(p, 1, 1 + rank, rank, outIndex));
    }

    /// @dev p = [d, center, e, f]; inputs X, G [d], B [d]: the row's S1 = Σx, S2 = Σx², then the value.
    function _norm(int256[] calldata p, uint256 outIndex, Tape memory t) private pure returns (int256) {
        uint256 d = uint256(p[0]);
        uint256 o = outIndex - (outIndex % d);
        int256 s1;
        int256 s2;
        for (uint256 k = 0; k < d; k++) {
            int256 v = _read(t, 0, o + k);
            s1 += v;
            s2 += v * v;
        }
        return _normFinish(p, outIndex, s1, s2, t);
    }

    /// @dev T = D·S2 − S1² + E (centered) or D·S2 + E; y = sat16(roundDiv((D·x − S1)·G_j, ⌊√T⌋·2^F) + B_j).
    function _normFinish(int256[] calldata p, uint256 outIndex, int256 s1, int256 s2, Tape memory t) private pure returns (int256) {
        int256 d = p[0];
        bool center = p[1] != 0;
        int256 total = center ? d * s2 - s1 * s1 + p[2] : d * s2 + p[2];
        // INVARIANT: the divisor ⌊√T⌋ · 2^F is positive (E ≥ 1 makes it so for every real row).
        if (total < 1) revert BadParams(NORM, 1, 0);
        int256 div = int256(Math.sqrt(uint256(total)) << uint256(p[3]));
        uint256 j = outIndex % uint256(d);
        int256 x = _read(t, 0, outIndex);
        int256 g = _read(t, 1, j);
        return sat16(roundDiv((d * x - (center ? s1 : int256(0))) * g, div) + _read(t, 2, j));
    }
}
