// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title NodeRegistry
/// @notice Registry and stake of the two staked roles: inference nodes and verifiers. An operator
///         registers a role with an endpoint URL and a stake of at least the role's minimum. Stake
///         leaves through unbonding: `requestUnbond` moves it out of the active stake at once, and
///         `withdraw` pays it out only after `unbondingDelay`, which exceeds the challenge window
///         plus the longest dispute, so stake behind any receipt can still be slashed. Unbonding
///         stake stays slashable. Only contracts holding SLASHER_ROLE (settlement, disputes) slash.
contract NodeRegistry is AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    enum Role {
        None,
        Inference,
        Verifier
    }

    /// @dev Stakes, id and unbonding time share one slot, read once on the settlement's hot path.
    ///      `id` is the 1-based registration position in the role; 0 means not registered.
    struct Operator {
        uint96 staked;
        uint96 unbonding;
        uint32 id;
        uint32 unbondingReadyAt;
        string endpoint;
    }

    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");

    IERC20 public immutable token;
    uint64 public immutable unbondingDelay;
    uint128 public immutable minInferenceStake;
    uint128 public immutable minVerifierStake;

    mapping(address operator => mapping(Role role => Operator)) private _operators;
    mapping(Role role => address[]) private _roster;
    mapping(Role role => mapping(uint32 id => address)) private _byId;
    /// @notice Operators of `role` active now (`isActive`): what Settlement counts as V, the verifiers a
    ///         batch's assignment is spread over.
    mapping(Role role => uint256) public activeCount;

    event OperatorRegistered(address indexed operator, Role indexed role, string endpoint);
    event EndpointUpdated(address indexed operator, Role indexed role, string endpoint);
    event Staked(address indexed operator, Role indexed role, uint256 amount, uint256 staked);
    event UnbondRequested(address indexed operator, Role indexed role, uint256 amount, uint256 unbonding, uint64 readyAt);
    event Withdrawn(address indexed operator, Role indexed role, uint256 amount);
    event Slashed(address indexed operator, Role indexed role, uint256 amount, address indexed recipient, address slasher);

    error InvalidRole(uint8 role);
    error AlreadyRegistered(address operator, Role role);
    error NotRegistered(address operator, Role role);
    error ZeroAmount();
    error BelowMinimumStake(Role role, uint256 minimum, uint256 found);
    error InsufficientStake(uint256 requested, uint256 available);
    error NothingUnbonding(address operator, Role role);
    error StillUnbonding(uint32 readyAt, uint64 now_);
    error AmountTooLarge(uint256 amount);
    error UnknownOperatorId(Role role, uint32 id);

    /// @param token_ the ERC-20 staked.
    /// @param unbondingDelay_ seconds between `requestUnbond` and `withdraw`.
    /// @param minInferenceStake_ minimum active stake of an inference node.
    /// @param minVerifierStake_ minimum active stake of a verifier.
    /// @param admin may grant SLASHER_ROLE (to the settlement and dispute contracts) and renounce.
    constructor(
        IERC20 token_,
        uint64 unbondingDelay_,
        uint128 minInferenceStake_,
        uint128 minVerifierStake_,
        address admin
    ) {
        token = token_;
        unbondingDelay = unbondingDelay_;
        minInferenceStake = minInferenceStake_;
        minVerifierStake = minVerifierStake_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Registers the caller in `role` with an endpoint and an initial stake (pulled with transferFrom).
    function register(Role role, string calldata endpoint, uint256 amount) external nonReentrant {
        _checkRole(role);
        Operator storage op = _operators[msg.sender][role];
        // INVARIANT: one registration per operator and role.
        if (op.id != 0) revert AlreadyRegistered(msg.sender, role);
        // INVARIANT: a registered operator starts with at least the minimum stake.
        uint256 minimum = minStake(role);
        if (amount < minimum || amount == 0) revert BelowMinimumStake(role, minimum, amount);
        op.endpoint = endpoint;
        _roster[role].push(msg.sender);
        uint32 id = uint32(_roster[role].length);
        op.id = id;
        _byId[role][id] = msg.sender;
        emit OperatorRegistered(msg.sender, role, endpoint);
        _addStake(op, role, amount);
    }

    /// @notice Adds `amount` to the caller's active stake in `role`.
    function stake(Role role, uint256 amount) external nonReentrant {
        _checkRole(role);
        Operator storage op = _registered(msg.sender, role);
        // INVARIANT: no empty stake events.
        if (amount == 0) revert ZeroAmount();
        _addStake(op, role, amount);
    }

    /// @notice Updates the endpoint URL clients and verifiers use to reach the operator.
    function setEndpoint(Role role, string calldata endpoint) external {
        _checkRole(role);
        Operator storage op = _registered(msg.sender, role);
        op.endpoint = endpoint;
        emit EndpointUpdated(msg.sender, role, endpoint);
    }

    /// @notice Moves `amount` from active stake to unbonding; it can be withdrawn `unbondingDelay`
    ///         seconds later. A new request restarts the delay for the whole unbonding amount.
    function requestUnbond(Role role, uint256 amount) external {
        _checkRole(role);
        Operator storage op = _registered(msg.sender, role);
        if (amount == 0) revert ZeroAmount();
        // INVARIANT: only active stake can start unbonding.
        if (amount > op.staked) revert InsufficientStake(amount, op.staked);
        _setStaked(op, role, op.staked - amount);
        op.unbonding += uint96(amount);
        op.unbondingReadyAt = SafeCast.toUint32(block.timestamp + unbondingDelay);
        emit UnbondRequested(msg.sender, role, amount, op.unbonding, op.unbondingReadyAt);
    }

    /// @notice Pays out the caller's unbonding stake once the delay has passed.
    function withdraw(Role role) external nonReentrant {
        _checkRole(role);
        Operator storage op = _registered(msg.sender, role);
        uint256 amount = op.unbonding;
        if (amount == 0) revert NothingUnbonding(msg.sender, role);
        // INVARIANT: stake stays slashable for the whole unbonding delay.
        if (block.timestamp < op.unbondingReadyAt) revert StillUnbonding(op.unbondingReadyAt, uint64(block.timestamp));
        op.unbonding = 0;
        op.unbondingReadyAt = 0;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, role, amount);
    }

    /// @notice Takes up to `amount` of the operator's stake in `role` (active first, then unbonding)
    ///         and sends it to `recipient`. Returns the amount actually slashed.
    function slash(address operator, Role role, uint256 amount, address recipient)
        external
        nonReentrant
        onlyRole(SLASHER_ROLE)
        returns (uint256 slashed)
    {
        _checkRole(role);
        Operator storage op = _operators[operator][role];
        uint256 fromStaked = amount < op.staked ? amount : op.staked;
        uint256 rest = amount - fromStaked;
        uint256 fromUnbonding = rest < op.unbonding ? rest : op.unbonding;
        _setStaked(op, role, op.staked - fromStaked);
        op.unbonding -= uint96(fromUnbonding);
        slashed = fromStaked + fromUnbonding;
        if (slashed > 0) token.safeTransfer(recipient, slashed);
        emit Slashed(operator, role, slashed, recipient, msg.sender);
    }

    /// @notice Whether `operator` may act in `role` now: registered with at least the minimum active stake.
    function isActive(address operator, Role role) external view returns (bool) {
        Operator storage op = _operators[operator][role];
        uint256 staked = op.staked;
        return staked > 0 && staked >= minStake(role);
    }

    /// @notice The operator's id in `role` (its 1-based registration position) when it is active,
    ///         else 0: the settlement's hot path checks and identifies a node in one call.
    function activeId(address operator, Role role) external view returns (uint32) {
        Operator storage op = _operators[operator][role];
        uint256 staked = op.staked;
        return staked > 0 && staked >= minStake(role) ? op.id : 0;
    }

    /// @notice The operator's id and active stake in `role` when it is active (id 0 and stake 0
    ///         otherwise): what the settlement needs to bound a node's open receipts by its stake.
    function activeStake(address operator, Role role) external view returns (uint32 id, uint256 staked) {
        Operator storage op = _operators[operator][role];
        staked = op.staked;
        if (staked == 0 || staked < minStake(role)) return (0, 0);
        id = op.id;
    }

    /// @notice The operator registered in `role` with id `id` (1-based); reverts for an unknown id.
    function operatorById(Role role, uint32 id) external view returns (address) {
        address operator = _byId[role][id];
        if (operator == address(0)) revert UnknownOperatorId(role, id);
        return operator;
    }

    /// @notice The operator's record in `role` (all zero when unregistered).
    function getOperator(address operator, Role role) external view returns (Operator memory) {
        return _operators[operator][role];
    }

    /// @notice Number of operators ever registered in `role`.
    function operatorCount(Role role) external view returns (uint256) {
        return _roster[role].length;
    }

    /// @notice The `index`-th operator registered in `role`.
    function operatorAt(Role role, uint256 index) external view returns (address) {
        return _roster[role][index];
    }

    /// @notice Minimum active stake of `role`.
    function minStake(Role role) public view returns (uint256) {
        return role == Role.Inference ? minInferenceStake : minVerifierStake;
    }

    /// @notice Semantic version of this contract's interface.
    function version() external pure returns (string memory) {
        return "1.2.0";
    }

    function _addStake(Operator storage op, Role role, uint256 amount) private {
        // INVARIANT: stakes fit the packed 96-bit fields.
        if (amount > type(uint96).max - op.staked - op.unbonding) revert AmountTooLarge(amount);
        _setStaked(op, role, op.staked + amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Staked(msg.sender, role, amount, op.staked);
    }

    /// @dev Sets the active stake, keeping `activeCount` equal to the number of active operators.
    function _setStaked(Operator storage op, Role role, uint256 staked) private {
        uint256 minimum = minStake(role);
        uint256 before = op.staked;
        bool wasActive = before > 0 && before >= minimum;
        bool active = staked > 0 && staked >= minimum;
        op.staked = uint96(staked);
        if (active && !wasActive) activeCount[role] += 1;
        else if (wasActive && !active) activeCount[role] -= 1;
    }

    function _registered(address operator, Role role) private view returns (Operator storage op) {
        op = _operators[operator][role];
        if (op.id == 0) revert NotRegistered(operator, role);
    }

    function _checkRole(Role role) private pure {
        if (role != Role.Inference && role != Role.Verifier) revert InvalidRole(uint8(role));
    }
}
