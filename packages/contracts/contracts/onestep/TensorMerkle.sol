// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title TensorMerkle
/// @notice Opens single values of a committed tensor (docs/semantics.md §6, the runtime's
///         `merkle.ts`): a tensor is its canonical little-endian bytes cut into 64-byte chunks (the
///         last one zero-padded); leaf = sha256(0x00 ‖ chunk), node = sha256(0x01 ‖ left ‖ right),
///         the leaves padded with zero hashes to a power of two. One chunk's proof has exactly
///         ceil(log2(chunks)) siblings, so it fixes the chunk's position.
library TensorMerkle {
    uint256 internal constant CHUNK_BYTES = 64;

    error ChunkSize(uint256 found);

    function leafHash(bytes calldata chunk) internal pure returns (bytes32) {
        if (chunk.length != CHUNK_BYTES) revert ChunkSize(chunk.length);
        return sha256(abi.encodePacked(bytes1(0x00), chunk));
    }

    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x01), left, right));
    }

    /// @notice Number of siblings in a proof for a tree of `leaves` leaves.
    function depth(uint256 leaves) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < leaves) d++;
    }

    /// @notice Whether `chunk` is chunk `chunkIndex` of the tensor with `root`, `elements` elements of
    ///         `width` bytes each.
    function verifyChunk(bytes32 root, uint256 elements, uint256 width, uint256 chunkIndex, bytes calldata chunk, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        uint256 chunks = (elements * width + CHUNK_BYTES - 1) / CHUNK_BYTES;
        if (chunks == 0) chunks = 1;
        if (chunkIndex >= chunks || proof.length != depth(chunks)) return false;
        bytes32 node = leafHash(chunk);
        uint256 index = chunkIndex;
        for (uint256 i = 0; i < proof.length; i++) {
            node = (index & 1) == 0 ? nodeHash(node, proof[i]) : nodeHash(proof[i], node);
            index >>= 1;
        }
        return node == root;
    }

    /// @notice The root of a tree of `count` leaves (tensor roots: a trace, a weights tree) whose leaf
    ///         `index` is `leaf`, from its proof of exactly ceil(log2(count)) siblings; zero when the
    ///         index is out of range or the proof has the wrong length.
    function rootFromLeaf(bytes32 leaf, uint256 index, uint256 count, bytes32[] calldata proof) internal pure returns (bytes32) {
        if (index >= count || proof.length != depth(count)) return bytes32(0);
        bytes32 node = leaf;
        for (uint256 i = 0; i < proof.length; i++) {
            node = (index & 1) == 0 ? nodeHash(node, proof[i]) : nodeHash(proof[i], node);
            index >>= 1;
        }
        return node;
    }

    /// @notice The root over `leaves` (tensor roots), padded with zero hashes to a power of two: the
    ///         runtime's `merkleRoot`, so `tensorsHash` of a receipt's inputs or outputs.
    function merkleRoot(bytes32[] calldata leaves) internal pure returns (bytes32) {
        uint256 width = uint256(1) << depth(leaves.length);
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i = 0; i < leaves.length; i++) level[i] = leaves[i];
        while (width > 1) {
            width >>= 1;
            for (uint256 i = 0; i < width; i++) level[i] = nodeHash(level[2 * i], level[2 * i + 1]);
        }
        return level[0];
    }

    /// @notice The hash of a subtree of `height` levels made only of padding: zero for a leaf, then
    ///         nodeHash of two such subtrees.
    function paddingHash(uint256 height) internal pure returns (bytes32 node) {
        for (uint256 i = 0; i < height; i++) node = nodeHash(node, node);
    }

    /// @notice The signed little-endian integer of `width` bytes at byte `offset` of a chunk.
    function elementAt(bytes calldata chunk, uint256 offset, uint256 width) internal pure returns (int256 value) {
        uint256 raw;
        for (uint256 b = 0; b < width; b++) raw |= uint256(uint8(chunk[offset + b])) << (8 * b);
        uint256 bits = 8 * width;
        value = raw >= (uint256(1) << (bits - 1)) ? int256(raw) - int256(uint256(1) << bits) : int256(raw);
    }
}
