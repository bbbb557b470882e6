// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {NodeRegistry} from "./NodeRegistry.sol";
import {IDisputeGame} from "./dispute/IDisputeGame.sol";
import {Bitmap} from "./lib/Bitmap.sol";
import {ReceiptMerkle} from "./lib/ReceiptMerkle.sol";
import {InferenceRequest, Receipt, VerityTypes} from "./generated/VerityTypes.sol";

/// @title Settlement
/// @notice Client escrow, batch commits of receipt roots, verifier attestations, the challenge
///         window, finalization and fee payment. It is also the EIP-712 domain of requests and
///         receipts. Life of a batch: `commitBatch` (fees move from the clients' escrow to pending)
///         → `attest` by verifiers → after `challengeWindow` with no open challenge, `finalize` by
///         anyone credits the node and the attesting verifiers → `claim`. A `challenge` within the
///         window takes a bond, freezes the batch and opens a game in the bound `disputeGame`,
///         whose ruling comes back through `resolveChallenge`: a node that loses has the receipt
///         overturned (its fee refunded to the client's escrow), is slashed, and the challenger is
///         paid its bond and a bounty; a challenger that loses pays its bond to the node. Either way
///         the batch's other receipts settle. A challenge nobody resolved within
///         `maxDisputeDuration` (a game is always decidable before) can be expired by anyone, bond
///         returned, so no funds can lock forever. `multicall` lets a node commit a new batch and
///         finalize an old one in one transaction.
contract Settlement is EIP712, ReentrancyGuard, Multicall {
    using SafeERC20 for IERC20;

    enum BatchStatus {
        None,
        Committed,
        Challenged,
        Finalized
    }

    enum ChallengeStatus {
        None,
        Open,
        Expired,
        Upheld,
        Rejected
    }

    /// @notice A batch as `getBatch` returns it.
    struct Batch {
        bytes32 root;
        address node;
        uint96 feeCollected;
        uint32 count;
        uint40 committedAt;
        BatchStatus status;
        uint16 openChallenges;
        uint32 attestedTotal;
    }

    /// @dev Two storage slots: the root, then everything else packed (the node by its registry id).
    struct BatchRecord {
        bytes32 root;
        uint32 nodeId;
        uint96 feeCollected;
        uint32 count;
        uint40 committedAt;
        BatchStatus status;
        uint16 openChallenges;
        uint32 attestedTotal;
    }

    struct Escrow {
        uint128 balance;
        uint128 withdrawalAmount;
        uint64 withdrawalReadyAt;
    }

    struct Challenge {
        uint64 batchId;
        uint32 receiptIndex;
        uint40 openedAt;
        ChallengeStatus status;
        address challenger;
        uint96 bond;
        bytes32 receiptDigest;
        address client;
        uint96 fee;
    }

    /// @notice One client's total fee in a batch: the sum of its receipts' fees.
    struct Debit {
        address client;
        uint96 amount;
    }

    uint16 public constant BPS = 10_000;
    /// @notice Where the unpaid part of a slash goes: burned, so a node gains nothing by
    ///         challenging itself.
    address public constant BURN = 0x000000000000000000000000000000000000dEaD;

    IERC20 public immutable token;
    NodeRegistry public immutable nodes;
    uint64 public immutable challengeWindow;
    uint64 public immutable maxDisputeDuration;
    uint64 public immutable escrowWithdrawalDelay;
    uint16 public immutable verifierShareBps;
    uint96 public immutable challengeBond;

    address private immutable _deployer;
    /// @notice The game that decides challenges, bound once after deployment.
    IDisputeGame public disputeGame;

    uint256 public batchCount;
    uint256 public challengeCount;
    mapping(uint256 batchId => BatchRecord) private _batches;
    mapping(uint256 batchId => mapping(address verifier => uint32 receipts)) private _attestations;
    mapping(address client => Escrow) private _escrows;
    mapping(uint256 challengeId => Challenge) private _challenges;
    mapping(address account => uint256) public claimable;
    mapping(uint256 batchId => mapping(uint32 receiptIndex => bool)) private _overturned;

    event Deposited(address indexed client, address indexed from, uint256 amount, uint256 balance);
    event WithdrawalRequested(address indexed client, uint256 amount, uint64 readyAt);
    event Withdrawn(address indexed client, uint256 amount, uint256 balance);
    event BatchCommitted(
        uint256 indexed batchId,
        address indexed node,
        bytes32 root,
        uint32 count,
        uint256 feeTotal,
        uint256 feeCollected,
        uint64 challengeDeadline,
        string dataURI
    );
    event EscrowShortfall(uint256 indexed batchId, address indexed client, uint256 debited, uint256 missing);
    event Attested(uint256 indexed batchId, address indexed verifier, uint32 receipts, uint256[] bitmap);
    event BatchFinalized(uint256 indexed batchId, address indexed node, uint256 nodeAmount, uint256 verifierAmount);
    event ChallengeOpened(
        uint256 indexed challengeId, uint256 indexed batchId, uint32 receiptIndex, address indexed challenger, bytes32 receiptDigest, uint256 bond
    );
    event ChallengeExpired(uint256 indexed challengeId, uint256 indexed batchId);
    event ReceiptOverturned(
        uint256 indexed challengeId,
        uint256 indexed batchId,
        uint32 receiptIndex,
        address indexed client,
        uint256 refund,
        uint256 slashed,
        uint256 bounty
    );
    event ChallengeRejected(uint256 indexed challengeId, uint256 indexed batchId, address indexed node, uint256 bond);
    event ChallengeRedundant(uint256 indexed challengeId, uint256 indexed batchId, uint32 receiptIndex, uint256 bond);
    event DisputeGameBound(address game);
    event Claimed(address indexed account, uint256 amount);

    error ZeroAmount();
    error AmountTooLarge(uint256 amount);
    error NoWithdrawalRequested(address client);
    error WithdrawalNotReady(uint64 readyAt, uint64 now_);
    error NotActiveNode(address account);
    error NotActiveVerifier(address account);
    error EmptyBatch();
    error ZeroRoot();
    error DebitsNotSorted(uint256 index);
    error FeeTotalMismatch(uint256 feeTotal, uint256 sumOfDebits);
    error UnknownBatch(uint256 batchId);
    error BatchAlreadyFinalized(uint256 batchId);
    error BatchFrozen(uint256 batchId, uint256 openChallenges);
    error ChallengeWindowOpen(uint256 batchId, uint64 endsAt);
    error ChallengeWindowClosed(uint256 batchId, uint64 endedAt);
    error AlreadyAttested(uint256 batchId, address verifier);
    error EmptyAttestation();
    error AttestersMismatch(uint256 expectedReceipts, uint256 foundReceipts);
    error AttestersNotSorted(uint256 index);
    error NotAnAttester(uint256 batchId, address account);
    error InvalidInclusionProof(uint256 batchId, uint256 receiptIndex);
    error UnknownChallenge(uint256 challengeId);
    error ChallengeNotOpen(uint256 challengeId);
    error DisputeStillRunning(uint256 challengeId, uint64 expiresAt);
    error NothingToClaim(address account);
    error UnbondingTooShort(uint256 unbondingDelay, uint256 required);
    error InvalidShare(uint256 bps);
    error NotDeployer(address caller);
    error DisputeGameAlreadyBound(address game);
    error NotDisputeGame(address caller);
    error AlreadyOverturned(uint256 batchId, uint32 receiptIndex);

    /// @param token_ the ERC-20 of fees and bonds (the registry's staking token).
    /// @param nodes_ the registry whose active inference nodes commit and whose verifiers attest.
    /// @param challengeWindow_ seconds after a commit during which receipts can be challenged.
    /// @param maxDisputeDuration_ seconds after which an unresolved challenge can be expired.
    /// @param escrowWithdrawalDelay_ seconds between a client's withdrawal request and payout.
    /// @param verifierShareBps_ share of an attested batch's fees paid to its verifiers, in basis points.
    /// @param challengeBond_ tokens a challenger locks per challenge.
    constructor(
        IERC20 token_,
        NodeRegistry nodes_,
        uint64 challengeWindow_,
        uint64 maxDisputeDuration_,
        uint64 escrowWithdrawalDelay_,
        uint16 verifierShareBps_,
        uint96 challengeBond_
    ) EIP712("Verity", "1") {
        // INVARIANT: stake outlives every receipt it backs: unbonding > window + longest dispute.
        uint256 required = uint256(challengeWindow_) + maxDisputeDuration_;
        if (nodes_.unbondingDelay() <= required) revert UnbondingTooShort(nodes_.unbondingDelay(), required + 1);
        if (verifierShareBps_ > BPS) revert InvalidShare(verifierShareBps_);
        token = token_;
        nodes = nodes_;
        challengeWindow = challengeWindow_;
        maxDisputeDuration = maxDisputeDuration_;
        escrowWithdrawalDelay = escrowWithdrawalDelay_;
        verifierShareBps = verifierShareBps_;
        challengeBond = challengeBond_;
        _deployer = msg.sender;
    }

    /// @notice Binds the dispute game, once, by the deployer (the game needs this contract's address
    ///         first). Until then a challenge only freezes its batch.
    function bindDisputeGame(IDisputeGame game) external {
        // INVARIANT: the game is fixed once bound; nobody can swap the judge.
        if (msg.sender != _deployer) revert NotDeployer(msg.sender);
        if (address(disputeGame) != address(0)) revert DisputeGameAlreadyBound(address(disputeGame));
        disputeGame = game;
        emit DisputeGameBound(address(game));
    }

    // ─── escrow ────────────────────────────────────────────────────────────────────────────────

    /// @notice Adds `amount` to the caller's escrow.
    function deposit(uint256 amount) external {
        depositFor(msg.sender, amount);
    }

    /// @notice Adds `amount` (pulled from the caller) to `client`'s escrow.
    function depositFor(address client, uint256 amount) public nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Escrow storage escrow = _escrows[client];
        if (amount > type(uint128).max - escrow.balance) revert AmountTooLarge(amount);
        escrow.balance += uint128(amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(client, msg.sender, amount, escrow.balance);
    }

    /// @notice Announces a withdrawal of `amount`; it can be paid `escrowWithdrawalDelay` seconds
    ///         later. Until then the amount stays debitable, so requests already answered are paid.
    ///         A new request replaces the previous one; `amount` = 0 cancels.
    function requestWithdrawal(uint256 amount) external {
        Escrow storage escrow = _escrows[msg.sender];
        if (amount > type(uint128).max) revert AmountTooLarge(amount);
        escrow.withdrawalAmount = uint128(amount);
        escrow.withdrawalReadyAt = amount == 0 ? 0 : uint64(block.timestamp) + escrowWithdrawalDelay;
        emit WithdrawalRequested(msg.sender, amount, escrow.withdrawalReadyAt);
    }

    /// @notice Pays the requested withdrawal (capped by the balance left after debits).
    function withdraw() external nonReentrant {
        Escrow storage escrow = _escrows[msg.sender];
        if (escrow.withdrawalAmount == 0) revert NoWithdrawalRequested(msg.sender);
        // INVARIANT: an in-flight debit cannot be dodged: payout waits for the delay.
        if (block.timestamp < escrow.withdrawalReadyAt) revert WithdrawalNotReady(escrow.withdrawalReadyAt, uint64(block.timestamp));
        uint128 amount = escrow.withdrawalAmount < escrow.balance ? escrow.withdrawalAmount : escrow.balance;
        escrow.balance -= amount;
        escrow.withdrawalAmount = 0;
        escrow.withdrawalReadyAt = 0;
        if (amount > 0) token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount, escrow.balance);
    }

    // ─── batches ───────────────────────────────────────────────────────────────────────────────

    /// @notice Commits a batch of `count` receipts by its Merkle `root`. `debits` (sorted by client,
    ///         one entry per client) move each client's fees from escrow to pending; a client whose
    ///         escrow falls short is debited what it has (`EscrowShortfall`). `dataURI` is where
    ///         verifiers fetch the batch's receipts and inputs. Returns the batch id.
    function commitBatch(bytes32 root, uint32 count, uint96 feeTotal, string calldata dataURI, Debit[] calldata debits)
        external
        returns (uint256 batchId)
    {
        // INVARIANT: only a staked inference node stands behind a batch.
        uint32 nodeId = nodes.activeId(msg.sender, NodeRegistry.Role.Inference);
        if (nodeId == 0) revert NotActiveNode(msg.sender);
        // INVARIANT: a batch commits at least one receipt.
        if (count == 0) revert EmptyBatch();
        if (root == bytes32(0)) revert ZeroRoot();
        batchId = ++batchCount;
        (uint256 sum, uint256 collected) = _debitClients(batchId, debits);
        // INVARIANT: the committed fee total is exactly the sum of the clients' debits.
        if (sum != feeTotal) revert FeeTotalMismatch(feeTotal, sum);
        _batches[batchId] = BatchRecord({
            root: root,
            nodeId: nodeId,
            feeCollected: uint96(collected),
            count: count,
            committedAt: uint40(block.timestamp),
            status: BatchStatus.Committed,
            openChallenges: 0,
            attestedTotal: 0
        });
        emit BatchCommitted(batchId, msg.sender, root, count, feeTotal, collected, uint64(block.timestamp) + challengeWindow, dataURI);
    }

    /// @notice Attests, for the caller (a staked verifier), that it re-executed the receipts set in
    ///         `bitmap` and found them correct. One attestation per verifier per batch.
    function attest(uint256 batchId, uint256[] calldata bitmap) external {
        // INVARIANT: only staked verifiers attest.
        if (!nodes.isActive(msg.sender, NodeRegistry.Role.Verifier)) revert NotActiveVerifier(msg.sender);
        BatchRecord storage batch = _batches[batchId];
        BatchStatus status = batch.status;
        if (status == BatchStatus.None) revert UnknownBatch(batchId);
        if (status == BatchStatus.Finalized) revert BatchAlreadyFinalized(batchId);
        // INVARIANT: a verifier is paid once per batch.
        if (_attestations[batchId][msg.sender] != 0) revert AlreadyAttested(batchId, msg.sender);
        uint256 receipts = Bitmap.countSet(bitmap, batch.count);
        if (receipts == 0) revert EmptyAttestation();
        _attestations[batchId][msg.sender] = uint32(receipts);
        batch.attestedTotal += uint32(receipts);
        emit Attested(batchId, msg.sender, uint32(receipts), bitmap);
    }

    /// @notice Settles a batch after its challenge window when no challenge is open: credits the
    ///         node and the verifiers (pro rata to the receipts each attested; `verifierShareBps` of
    ///         the fees when at least one attestation exists). `attesters` must list every verifier
    ///         that attested the batch, in ascending address order (read them from `Attested` events).
    function finalize(uint256 batchId, address[] calldata attesters) external {
        BatchRecord storage batch = _batches[batchId];
        BatchStatus status = batch.status;
        if (status == BatchStatus.None) revert UnknownBatch(batchId);
        // INVARIANT: fees are paid once.
        if (status == BatchStatus.Finalized) revert BatchAlreadyFinalized(batchId);
        // INVARIANT: a frozen batch pays nothing until its challenges are closed.
        if (status == BatchStatus.Challenged) revert BatchFrozen(batchId, batch.openChallenges);
        uint64 endsAt = uint64(batch.committedAt) + challengeWindow;
        // INVARIANT: nothing settles while receipts can still be challenged.
        if (block.timestamp < endsAt) revert ChallengeWindowOpen(batchId, endsAt);
        batch.status = BatchStatus.Finalized;

        uint256 fee = batch.feeCollected;
        uint256 attested = batch.attestedTotal;
        uint256 pool = attested == 0 ? 0 : (fee * verifierShareBps) / BPS;
        uint256 paid = _payVerifiers(batchId, attesters, pool, attested);
        uint256 nodeAmount = fee - paid;
        address node = nodes.operatorById(NodeRegistry.Role.Inference, batch.nodeId);
        if (nodeAmount > 0) claimable[node] += nodeAmount;
        emit BatchFinalized(batchId, node, nodeAmount, paid);
    }

    /// @notice Pays out everything credited to the caller by finalized batches.
    function claim() external nonReentrant {
        uint256 amount = claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        claimable[msg.sender] = 0;
        token.safeTransfer(msg.sender, amount);
        emit Claimed(msg.sender, amount);
    }

    /// @dev Moves each client's fees from escrow to the batch (what the escrow holds, at most).
    function _debitClients(uint256 batchId, Debit[] calldata debits) private returns (uint256 sum, uint256 collected) {
        address previous;
        for (uint256 i = 0; i < debits.length; i++) {
            Debit calldata debit = debits[i];
            // INVARIANT: one debit per client, so a client is never charged twice in a batch.
            if (debit.client <= previous) revert DebitsNotSorted(i);
            previous = debit.client;
            sum += debit.amount;
            Escrow storage escrow = _escrows[debit.client];
            uint128 taken = debit.amount <= escrow.balance ? debit.amount : escrow.balance;
            escrow.balance -= taken;
            collected += taken;
            if (taken < debit.amount) emit EscrowShortfall(batchId, debit.client, taken, debit.amount - taken);
        }
    }

    /// @dev Credits each attester its pro-rata share of `pool`; returns the total credited.
    function _payVerifiers(uint256 batchId, address[] calldata attesters, uint256 pool, uint256 attested)
        private
        returns (uint256 paid)
    {
        uint256 seen;
        address previous;
        for (uint256 i = 0; i < attesters.length; i++) {
            address verifier = attesters[i];
            if (verifier <= previous) revert AttestersNotSorted(i);
            previous = verifier;
            uint256 receipts = _attestations[batchId][verifier];
            if (receipts == 0) revert NotAnAttester(batchId, verifier);
            // The record is no longer needed once the batch is final (the Attested event keeps it).
            delete _attestations[batchId][verifier];
            seen += receipts;
            uint256 share = (pool * receipts) / attested;
            paid += share;
            if (share > 0) claimable[verifier] += share;
        }
        // INVARIANT: every attester is paid, so the verifiers' share cannot be diverted to the node.
        if (seen != attested) revert AttestersMismatch(attested, seen);
    }

    // ─── challenges ────────────────────────────────────────────────────────────────────────────

    /// @notice Challenges receipt `receiptIndex` of a batch, proving its inclusion, and locks
    ///         `challengeBond`. The batch is frozen until every challenge against it is closed.
    function challenge(uint256 batchId, Receipt calldata receipt, uint32 receiptIndex, bytes32[] calldata proof)
        external
        nonReentrant
        returns (uint256 challengeId)
    {
        BatchRecord storage batch = _batches[batchId];
        BatchStatus status = batch.status;
        if (status == BatchStatus.None) revert UnknownBatch(batchId);
        if (status == BatchStatus.Finalized) revert BatchAlreadyFinalized(batchId);
        uint64 endsAt = uint64(batch.committedAt) + challengeWindow;
        // INVARIANT: challenges only inside the window, so a finalizable batch cannot be frozen.
        if (block.timestamp >= endsAt) revert ChallengeWindowClosed(batchId, endsAt);
        bytes32 digest = receiptDigest(receipt);
        // INVARIANT: only a receipt the node committed can be challenged.
        if (ReceiptMerkle.rootFrom(digest, receiptIndex, batch.count, proof) != batch.root) {
            revert InvalidInclusionProof(batchId, receiptIndex);
        }
        // INVARIANT: a receipt is overturned (and refunded) at most once.
        if (_overturned[batchId][receiptIndex]) revert AlreadyOverturned(batchId, receiptIndex);
        challengeId = ++challengeCount;
        _challenges[challengeId] = Challenge({
            batchId: uint64(batchId),
            receiptIndex: receiptIndex,
            openedAt: uint40(block.timestamp),
            status: ChallengeStatus.Open,
            challenger: msg.sender,
            bond: challengeBond,
            receiptDigest: digest,
            client: receipt.client,
            fee: receipt.fee
        });
        batch.status = BatchStatus.Challenged;
        batch.openChallenges += 1;
        if (challengeBond > 0) token.safeTransferFrom(msg.sender, address(this), challengeBond);
        emit ChallengeOpened(challengeId, batchId, receiptIndex, msg.sender, digest, challengeBond);
        if (address(disputeGame) != address(0)) _openGame(challengeId, batch.nodeId, receipt);
    }

    /// @dev Hands the challenge to the game: the batch's node defends the receipt's claim.
    function _openGame(uint256 challengeId, uint32 nodeId, Receipt calldata receipt) private {
        address node = nodes.operatorById(NodeRegistry.Role.Inference, nodeId);
        disputeGame.open(challengeId, node, msg.sender, receipt.modelId, receipt.inputHash, receipt.outputHash);
    }

    /// @notice Applies the dispute game's ruling on an open challenge. Node lost: the receipt is
    ///         overturned, its fee (what was collected of it) goes back to the client's escrow, the
    ///         node is slashed `slashAmount`, the challenger gets its bond and `bountyBps` of the
    ///         slash, the rest is burned. Challenger lost: its bond is credited to the node. The batch
    ///         unfreezes once no challenge is open, and its other receipts settle as usual.
    function resolveChallenge(uint256 challengeId, bool nodeLost) external nonReentrant {
        IDisputeGame game = disputeGame;
        // INVARIANT: only the bound game rules.
        if (msg.sender != address(game) || address(game) == address(0)) revert NotDisputeGame(msg.sender);
        Challenge storage entry = _challenges[challengeId];
        if (entry.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
        uint256 batchId = entry.batchId;
        BatchRecord storage batch = _batches[batchId];
        address node = nodes.operatorById(NodeRegistry.Role.Inference, batch.nodeId);
        uint256 bond = entry.bond;
        if (nodeLost && _overturned[batchId][entry.receiptIndex]) {
            // INVARIANT: a wrong receipt is punished once; a later challenger that was also right gets its bond back.
            entry.status = ChallengeStatus.Upheld;
            if (bond > 0) claimable[entry.challenger] += bond;
            emit ChallengeRedundant(challengeId, batchId, entry.receiptIndex, bond);
        } else if (nodeLost) {
            entry.status = ChallengeStatus.Upheld;
            _overturned[batchId][entry.receiptIndex] = true;
            uint256 refund = entry.fee < batch.feeCollected ? entry.fee : batch.feeCollected;
            // INVARIANT: the refund leaves the batch's pending fees, so it is never also paid out.
            batch.feeCollected -= uint96(refund);
            _escrows[entry.client].balance += uint128(refund);
            uint256 slashed = nodes.slash(node, NodeRegistry.Role.Inference, game.slashAmount(), address(this));
            uint256 bounty = (slashed * game.bountyBps()) / BPS;
            claimable[entry.challenger] += bond + bounty;
            if (slashed > bounty) token.safeTransfer(BURN, slashed - bounty);
            emit ReceiptOverturned(challengeId, batchId, entry.receiptIndex, entry.client, refund, slashed, bounty);
        } else {
            entry.status = ChallengeStatus.Rejected;
            if (bond > 0) claimable[node] += bond;
            emit ChallengeRejected(challengeId, batchId, node, bond);
        }
        batch.openChallenges -= 1;
        if (batch.openChallenges == 0) batch.status = BatchStatus.Committed;
    }

    /// @notice Whether the receipt at `receiptIndex` of the batch was overturned by a dispute.
    function isOverturned(uint256 batchId, uint32 receiptIndex) external view returns (bool) {
        return _overturned[batchId][receiptIndex];
    }

    /// @notice Closes a challenge that no dispute resolved within `maxDisputeDuration`: the bond goes
    ///         back to the challenger and, once no challenge is open, the batch can finalize.
    function expireChallenge(uint256 challengeId) external nonReentrant {
        Challenge storage entry = _challenges[challengeId];
        if (entry.status == ChallengeStatus.None) revert UnknownChallenge(challengeId);
        if (entry.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
        uint64 expiresAt = uint64(entry.openedAt) + maxDisputeDuration;
        // INVARIANT: funds never lock forever, but a running dispute gets its full duration.
        if (block.timestamp < expiresAt) revert DisputeStillRunning(challengeId, expiresAt);
        entry.status = ChallengeStatus.Expired;
        BatchRecord storage batch = _batches[entry.batchId];
        batch.openChallenges -= 1;
        if (batch.openChallenges == 0) batch.status = BatchStatus.Committed;
        uint256 bond = entry.bond;
        if (bond > 0) token.safeTransfer(entry.challenger, bond);
        emit ChallengeExpired(challengeId, entry.batchId);
    }

    // ─── views ─────────────────────────────────────────────────────────────────────────────────

    /// @notice The batch's record (all zero for an unknown id).
    function getBatch(uint256 batchId) external view returns (Batch memory) {
        BatchRecord memory record = _batches[batchId];
        return Batch({
            root: record.root,
            node: record.nodeId == 0 ? address(0) : nodes.operatorById(NodeRegistry.Role.Inference, record.nodeId),
            feeCollected: record.feeCollected,
            count: record.count,
            committedAt: record.committedAt,
            status: record.status,
            openChallenges: record.openChallenges,
            attestedTotal: record.attestedTotal
        });
    }

    /// @notice Receipts `verifier` attested in the batch (0 if none, and 0 again once the batch is finalized).
    function attestationOf(uint256 batchId, address verifier) external view returns (uint256) {
        return _attestations[batchId][verifier];
    }

    /// @notice The client's escrow record.
    function escrowOf(address client) external view returns (Escrow memory) {
        return _escrows[client];
    }

    /// @notice Escrow a node may count on for new requests: the balance minus any announced withdrawal.
    function availableEscrow(address client) external view returns (uint256) {
        Escrow storage escrow = _escrows[client];
        return escrow.withdrawalAmount >= escrow.balance ? 0 : escrow.balance - escrow.withdrawalAmount;
    }

    /// @notice The challenge's record.
    function getChallenge(uint256 challengeId) external view returns (Challenge memory) {
        return _challenges[challengeId];
    }

    /// @notice Whether `receipt` is leaf `receiptIndex` of the committed batch, by its Merkle proof.
    function verifyReceipt(uint256 batchId, Receipt calldata receipt, uint32 receiptIndex, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        BatchRecord storage batch = _batches[batchId];
        if (batch.status == BatchStatus.None) return false;
        return ReceiptMerkle.rootFrom(receiptDigest(receipt), receiptIndex, batch.count, proof) == batch.root;
    }

    /// @notice EIP-712 digest of a receipt: the message the node signs and the leaf of the batch tree.
    function receiptDigest(Receipt calldata receipt) public view returns (bytes32) {
        return _hashTypedDataV4(VerityTypes.hash(receipt));
    }

    /// @notice EIP-712 digest of a client's request: the message the client signs and the receipt's `requestHash`.
    function requestDigest(InferenceRequest calldata request) external view returns (bytes32) {
        return _hashTypedDataV4(VerityTypes.hash(request));
    }

    /// @notice Semantic version of this contract's interface.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }
}
