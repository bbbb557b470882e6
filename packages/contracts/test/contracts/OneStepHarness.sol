// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {OneStep} from "../../contracts/onestep/OneStep.sol";
import {OneStepProof} from "../../contracts/onestep/OneStepProof.sol";

/// @notice Test-only: exposes OneStep.evalOne so the shared conformance vectors can be replayed.
contract OneStepHarness {
    function evalOne(uint8 op, int256[] calldata params, uint256 outIndex, OneStep.Read[] calldata tape) external pure returns (int256) {
        return OneStep.evalOne(op, params, outIndex, tape);
    }

    /// @notice acc_{i+1} of a fold (Conv, Dense, MatMulAct, Softmax, Norm) from acc_i and step i's reads.
    function evalTerm(uint8 op, int256[] calldata params, uint256 outIndex, uint256 i, int256 accBefore, OneStep.Read[] calldata tape)
        external
        pure
        returns (int256)
    {
        return OneStep.evalTerm(op, params, outIndex, i, accBefore, tape);
    }

    /// @notice A fold's value from its last state.
    function evalFinish(uint8 op, int256[] calldata params, uint256 outIndex, int256 acc, OneStep.Read[] calldata tape)
        external
        pure
        returns (int256)
    {
        return OneStep.evalFinish(op, params, outIndex, acc, tape);
    }

    /// @notice The value, with every read opened against the input tensors' roots.
    function evalProven(
        uint8 op,
        int256[] calldata params,
        uint256 outIndex,
        OneStep.Read[] calldata tape,
        OneStepProof.Tensor[] calldata inputs,
        uint16[] calldata openingOf,
        OneStepProof.Opening[] calldata openings
    ) external pure returns (int256) {
        OneStepProof.verifyTape(inputs, tape, openingOf, openings);
        return OneStep.evalOne(op, params, outIndex, tape);
    }
}
