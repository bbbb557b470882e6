// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title VerityToken
/// @notice The ERC-20 the devnet uses for stakes and fees. On a real chain any ERC-20 works: the
///         registry and settlement contracts take the token address at deployment.
contract VerityToken is ERC20, ERC20Permit {
    /// @param holder receives the whole fixed supply.
    /// @param supply total supply in base units (18 decimals).
    constructor(address holder, uint256 supply) ERC20("Verity", "VRT") ERC20Permit("Verity") {
        _mint(holder, supply);
    }

    /// @notice Semantic version of this contract's interface.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }
}
