// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ModelGraph
/// @notice The commitment to a model's computation graph that a dispute checks ops against
///         (`graphRoot` in the ModelRegistry, docs/disputes.md). The trace of a run is the tree of
///         `leafCount` tensor roots: the `inputCount` model inputs, then every op's output in op
///         order, so op `i` writes leaf `inputCount + i`. Each op is described by an `Op` — its
///         one-step op code and parameters (OneStep.sol), where each input comes from (an earlier
///         trace leaf or a leaf of the weights tree) and its output's size — and the ops form a
///         keccak positional tree (ReceiptMerkle) whose root is `opsRoot`.
library ModelGraph {
    /// @notice Where an op input lives: an activation (leaf of the trace) or a constant (leaf of the
    ///         weights tree), with its element count and bytes per element.
    struct InputRef {
        bool isConst;
        uint32 leaf;
        uint32 elements;
        uint8 width;
    }

    /// @notice One op of the graph, as the one-step check evaluates it.
    struct Op {
        uint8 opCode;
        int256[] params;
        InputRef[] inputs;
        uint32 outElements;
        uint8 outWidth;
    }

    /// @notice The shape of the trace and weights trees, and the root of the op tree.
    struct Header {
        uint32 inputCount;
        uint32 leafCount;
        uint32 constCount;
        uint32[] outputLeaves;
        bytes32 opsRoot;
    }

    function hashHeader(Header calldata header) internal pure returns (bytes32) {
        return keccak256(abi.encode(header));
    }

    function hashOp(Op calldata op) internal pure returns (bytes32) {
        return keccak256(abi.encode(op));
    }
}
