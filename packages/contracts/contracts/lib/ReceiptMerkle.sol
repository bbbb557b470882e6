// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// @title ReceiptMerkle
/// @notice The positional Merkle tree a batch commits to. Leaves are EIP-712 receipt digests in
///         batch order, padded with zero leaves to a power of two; a parent is
///         keccak256(left ‖ right). A proof for leaf `index` of a batch of `count` receipts has
///         exactly ceil(log2(count)) siblings, bottom-up, so it fixes the position and cannot
///         pass an inner node off as a leaf. docs/protocol.md defines the same tree for TypeScript.
library ReceiptMerkle {
    /// @notice Number of siblings in a proof for a batch of `count` leaves.
    function depth(uint256 count) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < count) d++;
    }

    /// @notice The root of the tree whose leaf `index` is `leaf`, given `proof`. Returns zero when the
    ///         index is out of range or the proof has the wrong length.
    function rootFrom(bytes32 leaf, uint256 index, uint256 count, bytes32[] calldata proof) internal pure returns (bytes32) {
        if (index >= count || proof.length != depth(count)) return bytes32(0);
        bytes32 node = leaf;
        for (uint256 i = 0; i < proof.length; i++) {
            node = (index & 1) == 0 ? Hashes.efficientKeccak256(node, proof[i]) : Hashes.efficientKeccak256(proof[i], node);
            index >>= 1;
        }
        return node;
    }

    /// @notice The root of a *batch* whose leaf `index` is `leaf`: the receipts' tree root hashed with
    ///         the batch's decoy commitment, keccak256(receiptsRoot ‖ decoyCommit). The proof is the
    ///         receipt tree's siblings followed by the decoy commitment (ceil(log2(count)) + 1
    ///         elements). Zero when the index or the proof length is invalid.
    function batchRootFrom(bytes32 leaf, uint256 index, uint256 count, bytes32[] calldata proof) internal pure returns (bytes32) {
        if (proof.length == 0) return bytes32(0);
        bytes32 inner = rootFrom(leaf, index, count, proof[:proof.length - 1]);
        return inner == bytes32(0) ? inner : Hashes.efficientKeccak256(inner, proof[proof.length - 1]);
    }
}
