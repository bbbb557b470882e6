// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {OneStep} from "../../contracts/onestep/OneStep.sol";

/// @notice Test-only: exposes OneStep.evalOne so the shared conformance vectors can be replayed.
contract OneStepHarness {
    function evalOne(uint8 op, int256[] calldata params, uint256 outIndex, OneStep.Read[] calldata tape) external pure returns (int256) {
        return OneStep.evalOne(op, params, outIndex, tape);
    }
}
