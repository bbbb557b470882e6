// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IDisputeGame
/// @notice What Settlement needs from the dispute game: opening a game for a challenge, and the
///         economics it applies when a game rules against the node.
interface IDisputeGame {
    /// @notice Starts the game for `challengeId`: `node` must defend the claim that `modelId` maps
    ///         the input committed by `inputHash` to the output committed by `outputHash`.
    function open(uint256 challengeId, address node, address challenger, bytes32 modelId, bytes32 inputHash, bytes32 outputHash)
        external;

    /// @notice Stake taken from a node that loses a game.
    function slashAmount() external view returns (uint96);

    /// @notice Share of the slashed stake (basis points) paid to the winning challenger; the rest is burned.
    function bountyBps() external view returns (uint16);
}
