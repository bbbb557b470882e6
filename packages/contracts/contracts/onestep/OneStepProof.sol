// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {OneStep} from "./OneStep.sol";
import {TensorMerkle} from "./TensorMerkle.sol";

/// @title OneStepProof
/// @notice Ties a one-step tape to committed tensors: every value the op reads is opened from a
///         64-byte chunk proven against the root of the input tensor it belongs to (an activation's
///         root from the agreed trace, or a weight's root under the model's weightsRoot). Each chunk
///         is proven once however many reads fall in it.
library OneStepProof {
    /// @notice One input tensor of the op: its root, element count and bytes per element (1, 2, 4).
    struct Tensor {
        bytes32 root;
        uint32 elements;
        uint8 width;
    }

    /// @notice A proven chunk of an input tensor.
    struct Opening {
        uint8 input;
        uint32 chunk;
        bytes data;
        bytes32[] proof;
    }

    error BadOpening(uint256 opening);
    error ValueNotInOpening(uint256 read, uint256 opening);
    error ValueMismatch(uint256 read, int256 claimed, int256 opened);

    /// @notice Checks every opening against its tensor's root, and every tape value against the
    ///         chunk it lies in (`openingOf[i]` names the opening holding read i). Reverts otherwise.
    function verifyTape(
        Tensor[] calldata inputs,
        OneStep.Read[] calldata tape,
        uint16[] calldata openingOf,
        Opening[] calldata openings
    ) internal pure {
        for (uint256 o = 0; o < openings.length; o++) {
            Opening calldata opening = openings[o];
            Tensor calldata tensor = inputs[opening.input];
            if (!TensorMerkle.verifyChunk(tensor.root, tensor.elements, tensor.width, opening.chunk, opening.data, opening.proof)) {
                revert BadOpening(o);
            }
        }
        if (openingOf.length != tape.length) revert BadOpening(type(uint256).max);
        for (uint256 i = 0; i < tape.length; i++) {
            OneStep.Read calldata r = tape[i];
            Opening calldata opening = openings[openingOf[i]];
            uint256 width = inputs[r.input].width;
            uint256 byteIndex = uint256(r.index) * width;
            if (opening.input != r.input || byteIndex / TensorMerkle.CHUNK_BYTES != opening.chunk) revert ValueNotInOpening(i, openingOf[i]);
            int256 opened = TensorMerkle.elementAt(opening.data, byteIndex % TensorMerkle.CHUNK_BYTES, width);
            if (opened != r.value) revert ValueMismatch(i, r.value, opened);
        }
    }
}
