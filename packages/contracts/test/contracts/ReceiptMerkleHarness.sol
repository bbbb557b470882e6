// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {ReceiptMerkle} from "../../contracts/lib/ReceiptMerkle.sol";
import {Bitmap} from "../../contracts/lib/Bitmap.sol";

/// @notice Test-only: builds receipt trees and proofs in Solidity (to check them in TypeScript) and
///         exposes the libraries' pure functions.
contract ReceiptMerkleHarness {
    function root(bytes32[] memory leaves) external pure returns (bytes32) {
        bytes32[] memory level = _padded(leaves);
        while (level.length > 1) level = _up(level);
        return level[0];
    }

    function proof(bytes32[] memory leaves, uint256 index) external pure returns (bytes32[] memory siblings) {
        bytes32[] memory level = _padded(leaves);
        siblings = new bytes32[](ReceiptMerkle.depth(leaves.length));
        for (uint256 i = 0; i < siblings.length; i++) {
            siblings[i] = level[index ^ 1];
            level = _up(level);
            index >>= 1;
        }
    }

    function rootFrom(bytes32 leaf, uint256 index, uint256 count, bytes32[] calldata siblings) external pure returns (bytes32) {
        return ReceiptMerkle.rootFrom(leaf, index, count, siblings);
    }

    function popcount(uint256 x) external pure returns (uint256) {
        return Bitmap.popcount(x);
    }

    function _padded(bytes32[] memory leaves) private pure returns (bytes32[] memory level) {
        level = new bytes32[](uint256(1) << ReceiptMerkle.depth(leaves.length));
        for (uint256 i = 0; i < leaves.length; i++) level[i] = leaves[i];
    }

    function _up(bytes32[] memory level) private pure returns (bytes32[] memory next) {
        next = new bytes32[](level.length / 2);
        for (uint256 i = 0; i < next.length; i++) next[i] = Hashes.efficientKeccak256(level[2 * i], level[2 * i + 1]);
    }
}
