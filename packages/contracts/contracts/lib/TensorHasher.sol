// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TensorMerkle} from "../onestep/TensorMerkle.sol";

/// @title TensorHasher
/// @notice The runtime's `tensorsHash` (docs/semantics.md §6) of tensors given as their canonical
///         bytes: each tensor's bytes cut into 64-byte chunks (the last zero-padded), leaf =
///         sha256(0x00 ‖ chunk), node = sha256(0x01 ‖ left ‖ right), leaves padded with zero hashes
///         to a power of two; then the same tree over the tensors' roots. Settlement uses it to
///         check the inputs a node publishes in answer to a data challenge.
contract TensorHasher {
    /// @notice The commitment to `tensors`, as the runtime's `tensorsHash`.
    function tensorsHash(bytes[] calldata tensors) external pure returns (bytes32) {
        bytes32[] memory roots = new bytes32[](tensors.length);
        for (uint256 i = 0; i < tensors.length; i++) roots[i] = tensorRoot(tensors[i]);
        return _rootOf(roots);
    }

    /// @notice The commitment to one tensor's canonical bytes.
    function tensorRoot(bytes calldata data) public pure returns (bytes32) {
        uint256 size = TensorMerkle.CHUNK_BYTES;
        uint256 chunks = (data.length + size - 1) / size;
        bytes32[] memory leaves = new bytes32[](chunks);
        for (uint256 c = 0; c < chunks; c++) {
            uint256 from = c * size;
            if (from + size <= data.length) {
                leaves[c] = sha256(abi.encodePacked(bytes1(0x00), data[from:from + size]));
            } else {
                // The last chunk is zero-padded to the chunk size.
                bytes calldata part = data[from:];
                leaves[c] = sha256(abi.encodePacked(bytes1(0x00), part, new bytes(size - part.length)));
            }
        }
        return _rootOf(leaves);
    }

    /// @dev Merkle root padded with zero hashes to a power of two (an empty list: the zero hash).
    function _rootOf(bytes32[] memory level) private pure returns (bytes32) {
        if (level.length == 0) return bytes32(0);
        uint256 width = uint256(1) << TensorMerkle.depth(level.length);
        bytes32[] memory tree = new bytes32[](width);
        for (uint256 i = 0; i < level.length; i++) tree[i] = level[i];
        while (width > 1) {
            width >>= 1;
            for (uint256 i = 0; i < width; i++) tree[i] = TensorMerkle.nodeHash(tree[2 * i], tree[2 * i + 1]);
        }
        return tree[0];
    }
}
