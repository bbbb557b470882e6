// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {OneStep} from "./OneStep.sol";
import {OneStepProof} from "./OneStepProof.sol";

/// @title OneStepVerifier
/// @notice The one-step check as a stateless contract, so the dispute game stays under the code-size
///         limit: opens every value of the tape against its tensor root and recomputes one output
///         value of one op under docs/semantics.md.
contract OneStepVerifier {
    /// @notice The values one output value reads: the op's input tensors, the tape, and the
    ///         Merkle-opened chunks holding the tape's values.
    struct Reads {
        OneStepProof.Tensor[] inputs;
        OneStep.Read[] tape;
        uint16[] openingOf;
        OneStepProof.Opening[] openings;
    }

    /// @notice Output value `outIndex` of op `opCode` with parameters `params`, from the tape of the
    ///         values it reads, each proven inside a Merkle-opened chunk of its input tensor.
    ///         Reverts when any opening or read is invalid.
    function evaluate(uint8 opCode, int256[] calldata params, uint256 outIndex, Reads calldata reads) external pure returns (int256) {
        OneStepProof.verifyTape(reads.inputs, reads.tape, reads.openingOf, reads.openings);
        return OneStep.evalOne(opCode, params, outIndex, reads.tape);
    }

    /// @notice acc_{i+1} of a dot-product op's output value `outIndex`, from acc_i (ignored for i = 0,
    ///         where the bias is read) and term i's reads, each proven in its tensor.
    function evaluateTerm(uint8 opCode, int256[] calldata params, uint256 outIndex, uint256 i, int256 accBefore, Reads calldata reads)
        external
        pure
        returns (int256)
    {
        OneStepProof.verifyTape(reads.inputs, reads.tape, reads.openingOf, reads.openings);
        return OneStep.evalTerm(opCode, params, outIndex, i, accBefore, reads.tape);
    }

    /// @notice A dot-product op's output value from its full accumulator, with the multiplier and
    ///         shift it reads proven in their tensors.
    function evaluateFinish(uint8 opCode, int256[] calldata params, uint256 outIndex, int256 acc, Reads calldata reads)
        external
        pure
        returns (int256)
    {
        OneStepProof.verifyTape(reads.inputs, reads.tape, reads.openingOf, reads.openings);
        return OneStep.evalFinish(opCode, params, outIndex, acc, reads.tape);
    }

    /// @notice K, the number of terms of one output value of a dot-product op (0 for other ops).
    function termCount(uint8 opCode, int256[] calldata params) external pure returns (uint256) {
        return OneStep.isSum(opCode) ? OneStep.termCount(opCode, params) : 0;
    }

    function version() external pure returns (string memory) {
        return "1.0.0";
    }
}
