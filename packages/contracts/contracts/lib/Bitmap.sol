// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Bitmap
/// @notice Receipt bitmaps: bit i of word i / 256 stands for receipt i of a batch.
library Bitmap {
    error BitmapLength(uint256 expected, uint256 found);
    error BitmapOutOfRange(uint256 count);

    /// @notice Number of set bits in a bitmap over `count` receipts. Reverts when the bitmap has the
    ///         wrong number of words or sets a bit at or beyond `count`.
    function countSet(uint256[] calldata words, uint256 count) internal pure returns (uint256 total) {
        uint256 expected = (count + 255) / 256;
        if (words.length != expected) revert BitmapLength(expected, words.length);
        uint256 tailBits = count - (expected - 1) * 256;
        if (tailBits < 256 && (words[expected - 1] >> tailBits) != 0) revert BitmapOutOfRange(count);
        for (uint256 i = 0; i < words.length; i++) {
            total += popcount(words[i]);
        }
    }

    /// @notice Number of set bits of `x` (SWAR).
    /// @notice Whether bit `index` is set (bit i of word i / 256).
    function isSet(uint256[] calldata words, uint256 index) internal pure returns (bool) {
        uint256 word = index >> 8;
        return word < words.length && (words[word] >> (index & 255)) & 1 == 1;
    }

    /// @notice Number of set bits below bit `index`: the position of receipt `index` among the
    ///         receipts a bitmap sets (the order of an attestation's execution tags).
    function rank(uint256[] calldata words, uint256 index) internal pure returns (uint256 below) {
        uint256 word = index >> 8;
        for (uint256 i = 0; i < word; i++) {
            below += popcount(words[i]);
        }
        uint256 bits = index & 255;
        if (bits > 0) below += popcount(words[word] & ((uint256(1) << bits) - 1));
    }

    function popcount(uint256 x) internal pure returns (uint256) {
        unchecked {
            x = x - ((x >> 1) & 0x5555555555555555555555555555555555555555555555555555555555555555);
            x = (x & 0x3333333333333333333333333333333333333333333333333333333333333333)
                + ((x >> 2) & 0x3333333333333333333333333333333333333333333333333333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f;
            x = (x + (x >> 8)) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff;
            x = (x + (x >> 16)) & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff;
            x = x + (x >> 32);
            x = x + (x >> 64);
            x = x + (x >> 128);
            return x & 0x1ff;
        }
    }
}
