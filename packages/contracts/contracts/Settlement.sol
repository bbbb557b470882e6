// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {NodeRegistry} from "./NodeRegistry.sol";
import {IDisputeGame} from "./dispute/IDisputeGame.sol";
import {Bitmap} from "./lib/Bitmap.sol";
import {ReceiptMerkle} from "./lib/ReceiptMerkle.sol";
import {TensorHasher} from "./lib/TensorHasher.sol";
import {InferenceRequest, Receipt, VerityTypes} from "./generated/VerityTypes.sol";

/// @title Settlement
/// @notice Client escrow and payment channels, batch commits of receipt roots, verifier
///         attestations, the challenge window, data-availability challenges, finalization, and the
///         EIP-712 domain of requests and receipts (docs/protocol.md, "Money").
///
///         Money moves only with its owner's signature or a proof: a client's escrow is debited only
///         by `redeem`, which checks the client's own signature over a request whose `channelTotal`
///         is the running total the client authorised that node, debits the increase over what the
///         channel already paid (so a voucher is never spent twice), and requires the request's
///         receipt to be proven in a finalized, not overturned batch of that node. Batches move no
///         money: a replayed receipt or root earns nothing. A node can have at most
///         `stake / receiptSlash` receipts in open batches, so every overturned receipt is slashed
///         in full. A receipt's fee is refunded from the slash, never from other clients' fees.
///
///         Life of a batch: `commitBatch` (root, count, fee total, the node's next commit sequence
///         number) → `attest` by verifiers within the window (a staked claim: attesting a receipt
///         later overturned is slashed by `slashAttester`) → after `challengeWindow` with no open
///         challenge, `finalize` pays the attesters from the node's verification pot and releases
///         the node's exposure. Within the window anyone may `challenge` a receipt's execution (a
///         dispute game rules) or its data (`challengeData`: the node must `publishData` — the
///         client's signed request and the input bytes, checked against the receipt — before
///         `dataResponseTime`, else the receipt is overturned).
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

    enum ChallengeKind {
        Execution,
        Data
    }

    /// @notice A batch as `getBatch` returns it.
    struct Batch {
        bytes32 root;
        address node;
        uint96 feeTotal;
        uint32 count;
        uint40 committedAt;
        BatchStatus status;
        uint16 openChallenges;
        uint16 attesters;
    }

    /// @dev Two storage slots: the root, then everything else packed (the node by its registry id).
    struct BatchRecord {
        bytes32 root;
        uint32 nodeId;
        uint96 feeTotal;
        uint32 count;
        uint40 committedAt;
        BatchStatus status;
        uint16 openChallenges;
        uint16 attesters;
        bool decoysRevealed;
    }

    /// @notice A payment channel (one slot): `paid` is the last redeemed `channelTotal` (the vouchers'
    ///         watermark); `refundable` what the client was debited and not refunded.
    struct Channel {
        uint128 paid;
        uint128 refundable;
    }

    /// @notice A node's commit sequence and receipts in batches not yet finalized (one slot).
    struct Exposure {
        uint32 commits;
        uint32 openReceipts;
    }

    /// @notice What `redeem` needs beside the request: the rest of its receipt and where it is committed.
    struct Redemption {
        bytes32 outputHash;
        uint96 fee;
        uint64 issuedAt;
        uint256 batchId;
        uint32 index;
        bytes32[] proof;
    }

    /// @notice Deployment parameters (docs/economics.md justifies the defaults).
    struct Params {
        uint64 challengeWindow;
        uint64 maxDisputeDuration;
        uint64 escrowWithdrawalDelay;
        uint64 dataResponseTime;
        uint16 verifierShareBps;
        uint16 bountyBps;
        uint96 challengeBond;
        uint96 receiptSlash;
        uint96 attesterSlash;
        uint16 decoyRateBps;
        uint96 decoyReward;
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
        ChallengeKind kind;
        address challenger;
        uint96 bond;
        bytes32 receiptDigest;
        address client;
        uint96 fee;
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
    /// @notice Seconds a node has to publish a receipt's data once it is challenged.
    uint64 public immutable dataResponseTime;
    /// @notice Share of every redeemed fee (basis points) set aside to pay the verifiers of the node's batches.
    uint16 public immutable verifierShareBps;
    /// @notice Share of a slash (after the client's refund) paid to the winning challenger; the rest is burned.
    uint16 public immutable bountyBps;
    uint96 public immutable challengeBond;
    /// @notice Stake taken from a node per overturned receipt; also what each receipt in an open batch reserves.
    uint96 public immutable receiptSlash;
    /// @notice Stake taken from a verifier that attested a receipt later overturned (once per batch).
    uint96 public immutable attesterSlash;
    /// @notice Forced errors: decoys per batch = ceil(count × decoyRateBps / BPS), one per segment.
    uint16 public immutable decoyRateBps;
    /// @notice Stake a node pays the verifier that challenged one of its decoys (and found it wrong).
    uint96 public immutable decoyReward;

    address private immutable _deployer;
    /// @notice Computes the runtime's `tensorsHash` of published inputs (its own contract, to keep this one small).
    TensorHasher public immutable inputHasher;
    /// @notice The game that decides challenges, bound once after deployment.
    IDisputeGame public disputeGame;

    uint256 public batchCount;
    uint256 public challengeCount;
    mapping(uint256 batchId => BatchRecord) private _batches;
    /// @dev keccak256 of the attested bitmap with its lowest bit set (never zero); ATTESTER_SLASHED once slashed.
    mapping(uint256 batchId => mapping(address verifier => bytes32)) private _attestations;
    mapping(address client => Escrow) private _escrows;
    mapping(uint256 challengeId => Challenge) private _challenges;
    mapping(address account => uint256) public claimable;
    mapping(uint256 batchId => mapping(uint32 receiptIndex => bool)) private _overturned;
    /// @dev Each client's channel with each node: how far its vouchers were redeemed, and what it paid
    ///      and was not refunded (the most an overturned receipt can give back).
    mapping(address client => mapping(address node => Channel)) private _channels;
    /// @notice Fees of overturned receipts the client had not paid yet: deducted from its next redemptions.
    mapping(address client => mapping(address node => uint256)) public channelCredit;
    mapping(uint32 nodeId => Exposure) private _exposure;
    /// @notice Per node: the verifiers' share of its redeemed fees, paid out to the attesters of its batches.
    mapping(uint32 nodeId => uint256) public verificationPot;
    mapping(uint256 batchId => mapping(uint256 decoy => bool)) private _decoyProven;

    bytes32 private constant ATTESTER_SLASHED = bytes32(uint256(2));

    event Deposited(address indexed client, address indexed from, uint256 amount, uint256 balance);
    event WithdrawalRequested(address indexed client, uint256 amount, uint64 readyAt);
    event Withdrawn(address indexed client, uint256 amount, uint256 balance);
    event BatchCommitted(
        uint256 indexed batchId,
        address indexed node,
        bytes32 root,
        uint32 count,
        uint256 feeTotal,
        uint32 sequence,
        uint64 challengeDeadline,
        string dataURI
    );
    event Redeemed(
        address indexed client, address indexed node, uint256 channelTotal, uint256 debited, uint256 shortfall, uint256 toVerifiers
    );
    event Attested(uint256 indexed batchId, address indexed verifier, uint32 receipts, uint256[] bitmap);
    event AttesterSlashed(uint256 indexed batchId, address indexed verifier, uint32 receiptIndex, uint256 slashed, address by);
    event DataChallenged(uint256 indexed challengeId, uint256 indexed batchId, uint32 receiptIndex, uint64 deadline);
    event DataPublished(uint256 indexed challengeId, uint256 indexed batchId, bytes32 requestHash, bytes[] inputs);
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
    event DecoysRevealed(uint256 indexed batchId, bytes32 salt);
    event DecoyProven(uint256 indexed batchId, uint32 receiptIndex, bool present, uint256 slashed, address by);

    error ZeroAmount();
    error AmountTooLarge(uint256 amount);
    error NoWithdrawalRequested(address client);
    error WithdrawalNotReady(uint64 readyAt, uint64 now_);
    error NotActiveNode(address account);
    error NotActiveVerifier(address account);
    error EmptyBatch();
    error ZeroRoot();
    error WrongCommitSequence(uint32 expected, uint32 found);
    error ExposureAboveStake(uint256 openReceipts, uint256 receiptSlash, uint256 stake);
    error WrongNode(address expected, address found);
    error BadClientSignature(address recovered, address client);
    error ChannelNotAhead(uint256 channelTotal, uint256 paid);
    error FeeAboveMax(uint256 fee, uint256 maxFee);
    error BatchNotFinal(uint256 batchId);
    error ReceiptOverturnedAlready(uint256 batchId, uint32 receiptIndex);
    error NotDataChallenge(uint256 challengeId);
    error ResponseDeadlinePassed(uint256 challengeId, uint64 deadline);
    error ReceiptMismatch(uint256 challengeId);
    error DataMismatch(bytes32 expected, bytes32 found);
    error NotAttested(uint256 batchId, address verifier, uint32 receiptIndex);
    error NotOverturned(uint256 batchId, uint32 receiptIndex);
    error UnknownBatch(uint256 batchId);
    error BatchAlreadyFinalized(uint256 batchId);
    error BatchFrozen(uint256 batchId, uint256 openChallenges);
    error ChallengeWindowOpen(uint256 batchId, uint64 endsAt);
    error ChallengeWindowClosed(uint256 batchId, uint64 endedAt);
    error AlreadyAttested(uint256 batchId, address verifier);
    error EmptyAttestation();
    error AttestersMismatch(uint256 expected, uint256 found);
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
    error DecoysNotRevealed(uint256 batchId);

    /// @param token_ the ERC-20 of fees and bonds (the registry's staking token).
    /// @param nodes_ the registry whose active inference nodes commit and whose verifiers attest.
    /// @param params the protocol's economic and timing parameters (`Params`).
    /// @param inputHasher_ the contract that hashes published input tensors as the runtime does.
    constructor(IERC20 token_, NodeRegistry nodes_, TensorHasher inputHasher_, Params memory params) EIP712("Verity", "1") {
        // INVARIANT: stake outlives every receipt it backs: unbonding > window + longest dispute.
        uint256 required = uint256(params.challengeWindow) + params.maxDisputeDuration;
        if (nodes_.unbondingDelay() <= required) revert UnbondingTooShort(nodes_.unbondingDelay(), required + 1);
        // INVARIANT: a data challenge is decided before a dispute could expire.
        if (params.dataResponseTime >= params.maxDisputeDuration) revert UnbondingTooShort(params.maxDisputeDuration, params.dataResponseTime + 1);
        // INVARIANT: escrow cannot leave before the receipts it pays for settle and can be redeemed.
        if (params.escrowWithdrawalDelay <= required) revert UnbondingTooShort(params.escrowWithdrawalDelay, required + 1);
        if (params.verifierShareBps > BPS) revert InvalidShare(params.verifierShareBps);
        if (params.bountyBps > BPS) revert InvalidShare(params.bountyBps);
        if (params.receiptSlash == 0) revert ZeroAmount();
        token = token_;
        nodes = nodes_;
        inputHasher = inputHasher_;
        challengeWindow = params.challengeWindow;
        maxDisputeDuration = params.maxDisputeDuration;
        escrowWithdrawalDelay = params.escrowWithdrawalDelay;
        dataResponseTime = params.dataResponseTime;
        verifierShareBps = params.verifierShareBps;
        bountyBps = params.bountyBps;
        challengeBond = params.challengeBond;
        receiptSlash = params.receiptSlash;
        attesterSlash = params.attesterSlash;
        if (params.decoyRateBps > BPS) revert InvalidShare(params.decoyRateBps);
        decoyRateBps = params.decoyRateBps;
        decoyReward = params.decoyReward;
        _deployer = msg.sender;
    }

    /// @notice Binds the dispute game, once, by the deployer (the game needs this contract's address
    ///         first). Until then an execution challenge only freezes its batch.
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

    /// @notice Commits a batch of `count` receipts by its Merkle `root`; `feeTotal` is the sum of
    ///         their fees (what the verifiers' pay is reckoned on). No money moves. `sequence` must be
    ///         the node's next commit number (1, 2, …), so a transaction re-sent after a crash can
    ///         never commit the same batch twice. `dataURI` is where verifiers fetch the receipts.
    function commitBatch(bytes32 root, uint32 count, uint96 feeTotal, uint32 sequence, string calldata dataURI)
        external
        returns (uint256 batchId)
    {
        // INVARIANT: only a staked inference node stands behind a batch.
        (uint32 nodeId, uint256 staked) = nodes.activeStake(msg.sender, NodeRegistry.Role.Inference);
        if (nodeId == 0) revert NotActiveNode(msg.sender);
        // INVARIANT: a batch commits at least one receipt.
        if (count == 0) revert EmptyBatch();
        // The root commits the receipts and the batch's decoys: keccak256(receiptsRoot ‖ keccak256(abi.encode(salt))).
        if (root == bytes32(0)) revert ZeroRoot();
        Exposure memory exposure = _exposure[nodeId];
        // INVARIANT: each commit of a node is numbered; a replayed or duplicated commit reverts.
        if (sequence != exposure.commits + 1) revert WrongCommitSequence(exposure.commits + 1, sequence);
        uint256 open = uint256(exposure.openReceipts) + count;
        // INVARIANT: every receipt in an open batch can be slashed in full: open receipts × slash ≤ stake.
        if (open * receiptSlash > staked) revert ExposureAboveStake(open, receiptSlash, staked);
        _exposure[nodeId] = Exposure({commits: sequence, openReceipts: uint32(open)});
        batchId = ++batchCount;
        _batches[batchId] = BatchRecord({
            root: root,
            nodeId: nodeId,
            feeTotal: feeTotal,
            count: count,
            committedAt: uint40(block.timestamp),
            status: BatchStatus.Committed,
            openChallenges: 0,
            attesters: 0,
            decoysRevealed: false
        });
        emit BatchCommitted(batchId, msg.sender, root, count, feeTotal, sequence, uint64(block.timestamp) + challengeWindow, dataURI);
    }

    /// @notice Attests, for the caller (a staked verifier), that it re-executed the receipts set in
    ///         `bitmap` and found them correct — a claim it stakes on: if one of them is overturned,
    ///         anyone can `slashAttester`. One attestation per verifier per batch, within the window;
    ///         the pay is the same however many receipts it claims.
    function attest(uint256 batchId, uint256[] calldata bitmap) external {
        // INVARIANT: only staked verifiers attest.
        if (!nodes.isActive(msg.sender, NodeRegistry.Role.Verifier)) revert NotActiveVerifier(msg.sender);
        BatchRecord storage batch = _batches[batchId];
        BatchStatus status = batch.status;
        if (status == BatchStatus.None) revert UnknownBatch(batchId);
        if (status == BatchStatus.Finalized) revert BatchAlreadyFinalized(batchId);
        uint64 endsAt = uint64(batch.committedAt) + challengeWindow;
        // INVARIANT: the set of attesters is fixed when the window ends, so finalize cannot be griefed.
        if (block.timestamp >= endsAt) revert ChallengeWindowClosed(batchId, endsAt);
        // INVARIANT: a verifier is paid once per batch.
        if (_attestations[batchId][msg.sender] != 0) revert AlreadyAttested(batchId, msg.sender);
        uint256 receipts = Bitmap.countSet(bitmap, batch.count);
        if (receipts == 0) revert EmptyAttestation();
        _attestations[batchId][msg.sender] = _bitmapKey(bitmap);
        batch.attesters += 1;
        emit Attested(batchId, msg.sender, uint32(receipts), bitmap);
    }

    /// @notice Settles a batch after its challenge window when no challenge is open: releases the
    ///         node's exposure and pays the attesters equal shares of the verification pay
    ///         (`verifierShareBps` of the batch's fee total, from the node's verification pot).
    ///         `attesters` must list every verifier that attested, in ascending address order.
    function finalize(uint256 batchId, address[] calldata attesters) external {
        BatchRecord storage batch = _batches[batchId];
        BatchStatus status = batch.status;
        if (status == BatchStatus.None) revert UnknownBatch(batchId);
        // INVARIANT: a batch settles once.
        if (status == BatchStatus.Finalized) revert BatchAlreadyFinalized(batchId);
        // INVARIANT: a frozen batch settles nothing until its challenges are closed.
        if (status == BatchStatus.Challenged) revert BatchFrozen(batchId, batch.openChallenges);
        uint64 endsAt = uint64(batch.committedAt) + challengeWindow;
        // INVARIANT: nothing settles while receipts can still be challenged.
        if (block.timestamp < endsAt) revert ChallengeWindowOpen(batchId, endsAt);
        // INVARIANT: a batch settles only once its decoys can be checked, so lazy attesters are exposed.
        if (!batch.decoysRevealed && decoyRateBps > 0) revert DecoysNotRevealed(batchId);
        batch.status = BatchStatus.Finalized;
        uint32 nodeId = batch.nodeId;
        _exposure[nodeId].openReceipts -= batch.count;

        uint256 paid = _payAttesters(batchId, nodeId, batch.feeTotal, batch.attesters, attesters);
        address node = nodes.operatorById(NodeRegistry.Role.Inference, nodeId);
        emit BatchFinalized(batchId, node, 0, paid);
    }

    /// @dev Credits each attester an equal share of the batch's verification pay, from the node's pot.
    function _payAttesters(uint256 batchId, uint32 nodeId, uint256 feeTotal, uint256 count, address[] calldata attesters)
        private
        returns (uint256 paid)
    {
        // INVARIANT: every attester is listed, so the verifiers' pay cannot be diverted.
        if (attesters.length != count) revert AttestersMismatch(count, attesters.length);
        if (count == 0) return 0;
        uint256 pot = verificationPot[nodeId];
        uint256 pool = (feeTotal * verifierShareBps) / BPS;
        if (pool > pot) pool = pot;
        uint256 share = pool / count;
        address previous;
        for (uint256 i = 0; i < count; i++) {
            address verifier = attesters[i];
            if (verifier <= previous) revert AttestersNotSorted(i);
            previous = verifier;
            bytes32 record = _attestations[batchId][verifier];
            if (record == 0) revert NotAnAttester(batchId, verifier);
            // A verifier slashed for this batch is not paid for it.
            if (record != ATTESTER_SLASHED && share > 0) {
                claimable[verifier] += share;
                paid += share;
            }
        }
        verificationPot[nodeId] = pot - paid;
    }

    /// @notice Pays the caller (a node) from the client's escrow what the client's signed `request`
    ///         authorises beyond what their channel already paid: `request.channelTotal − channelPaid`.
    ///         The request's receipt (`at.outputHash`, `at.fee`, `at.issuedAt`; the rest follows from
    ///         the request) must be leaf `at.index` of finalized batch `at.batchId` of the caller, not
    ///         overturned. `verifierShareBps` of the amount goes to the caller's verification pot.
    function redeem(InferenceRequest calldata request, bytes calldata clientSignature, Redemption calldata at)
        external
        nonReentrant
        returns (uint256 debited)
    {
        (address client, uint32 nodeId) = _checkRedemption(request, clientSignature, at);
        Channel storage channel = _channels[client][msg.sender];
        uint128 paidBefore = channel.paid;
        // INVARIANT: the same authorisation is never spent twice: the channel only moves forward.
        if (request.channelTotal <= paidBefore) revert ChannelNotAhead(request.channelTotal, paidBefore);
        channel.paid = request.channelTotal;
        uint256 owed = request.channelTotal - paidBefore;
        // INVARIANT: fees of overturned receipts are never collected: they come off the amount owed.
        uint256 credit = channelCredit[client][msg.sender];
        if (credit > 0) {
            uint256 used = credit < owed ? credit : owed;
            channelCredit[client][msg.sender] = credit - used;
            owed -= used;
        }
        Escrow storage escrow = _escrows[client];
        debited = owed <= escrow.balance ? owed : escrow.balance;
        escrow.balance -= uint128(debited);
        channel.refundable += uint128(debited);
        uint256 toVerifiers = (debited * verifierShareBps) / BPS;
        verificationPot[nodeId] += toVerifiers;
        claimable[msg.sender] += debited - toVerifiers;
        emit Redeemed(client, msg.sender, request.channelTotal, debited, owed - debited, toVerifiers);
    }

    /// @dev The checks of `redeem`: returns the client that signed and the caller's node id.
    function _checkRedemption(InferenceRequest calldata request, bytes calldata clientSignature, Redemption calldata at)
        private
        view
        returns (address client, uint32 nodeId)
    {
        // INVARIANT: a voucher pays only the node it names.
        if (request.node != msg.sender) revert WrongNode(request.node, msg.sender);
        bytes32 requestHash = _hashTypedDataV4(VerityTypes.hash(request));
        // INVARIANT: only the client's own signature authorises a debit of its escrow.
        client = ECDSA.recover(requestHash, clientSignature);
        if (at.fee > request.maxFee) revert FeeAboveMax(at.fee, request.maxFee);
        BatchRecord storage batch = _batches[at.batchId];
        nodeId = batch.nodeId;
        // INVARIANT: only fees of receipts that settled are paid: the batch is final and the caller's.
        if (batch.status != BatchStatus.Finalized) revert BatchNotFinal(at.batchId);
        address committer = nodes.operatorById(NodeRegistry.Role.Inference, nodeId);
        if (committer != msg.sender) revert WrongNode(committer, msg.sender);
        if (_overturned[at.batchId][at.index]) revert ReceiptOverturnedAlready(at.batchId, at.index);
        bytes32 leaf = _receiptLeaf(requestHash, request, client, at);
        if (ReceiptMerkle.batchRootFrom(leaf, at.index, batch.count, at.proof) != batch.root) revert InvalidInclusionProof(at.batchId, at.index);
    }

    /// @notice Pays out everything credited to the caller.
    function claim() external nonReentrant {
        uint256 amount = claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        claimable[msg.sender] = 0;
        token.safeTransfer(msg.sender, amount);
        emit Claimed(msg.sender, amount);
    }

    // ─── challenges ────────────────────────────────────────────────────────────────────────────

    /// @notice Challenges the execution of receipt `receiptIndex` of a batch, proving its inclusion,
    ///         and locks `challengeBond`. The batch is frozen until every challenge against it is
    ///         closed; the dispute game rules.
    function challenge(uint256 batchId, Receipt calldata receipt, uint32 receiptIndex, bytes32[] calldata proof)
        external
        nonReentrant
        returns (uint256 challengeId)
    {
        challengeId = _openChallenge(batchId, receipt, receiptIndex, proof, ChallengeKind.Execution);
        if (address(disputeGame) != address(0)) {
            address node = nodes.operatorById(NodeRegistry.Role.Inference, _batches[batchId].nodeId);
            disputeGame.open(challengeId, node, msg.sender, receipt.modelId, receipt.inputHash, receipt.outputHash);
        }
    }

    /// @notice Challenges the data behind receipt `receiptIndex`: the batch's node must `publishData`
    ///         within `dataResponseTime` — the client's signed request that the receipt answers and
    ///         the input bytes — or the receipt is overturned. Locks `challengeBond`, paid to the node
    ///         if it publishes.
    function challengeData(uint256 batchId, Receipt calldata receipt, uint32 receiptIndex, bytes32[] calldata proof)
        external
        nonReentrant
        returns (uint256 challengeId)
    {
        challengeId = _openChallenge(batchId, receipt, receiptIndex, proof, ChallengeKind.Data);
        emit DataChallenged(challengeId, batchId, receiptIndex, uint64(block.timestamp) + dataResponseTime);
    }

    /// @notice The node's answer to a data challenge: the receipt, the client's request and its
    ///         signature, and the input tensors' canonical bytes (int16 little-endian, in the model's
    ///         input order). Accepted only if the request is signed by the receipt's client, names
    ///         this node, the receipt's model, input and mode, allows the receipt's fee, the receipt
    ///         names the batch's node, and the bytes hash to the receipt's `inputHash`. The data is
    ///         then on-chain (`DataPublished`) for every verifier.
    function publishData(
        uint256 challengeId,
        Receipt calldata receipt,
        InferenceRequest calldata request,
        bytes calldata clientSignature,
        bytes[] calldata inputs
    ) external nonReentrant {
        Challenge storage entry = _challenges[challengeId];
        if (entry.kind != ChallengeKind.Data || entry.status == ChallengeStatus.None) revert NotDataChallenge(challengeId);
        if (entry.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
        uint64 deadline = uint64(entry.openedAt) + dataResponseTime;
        if (block.timestamp >= deadline) revert ResponseDeadlinePassed(challengeId, deadline);
        if (receiptDigest(receipt) != entry.receiptDigest) revert ReceiptMismatch(challengeId);
        BatchRecord storage batch = _batches[entry.batchId];
        address node = nodes.operatorById(NodeRegistry.Role.Inference, batch.nodeId);
        bytes32 requestHash = _checkBinding(challengeId, node, receipt, request, clientSignature);
        bytes32 dataHash = inputHasher.tensorsHash(inputs);
        if (dataHash != receipt.inputHash) revert DataMismatch(receipt.inputHash, dataHash);
        entry.status = ChallengeStatus.Rejected;
        uint256 bond = entry.bond;
        if (bond > 0) claimable[node] += bond;
        _closeChallenge(batch);
        emit DataPublished(challengeId, entry.batchId, requestHash, inputs);
        emit ChallengeRejected(challengeId, entry.batchId, node, bond);
    }

    /// @dev Reverts unless `receipt` is bound to `request`, signed by the receipt's client: same node
    ///      (the committer), model, input, mode, and a fee within what the client allowed.
    function _checkBinding(
        uint256 challengeId,
        address node,
        Receipt calldata receipt,
        InferenceRequest calldata request,
        bytes calldata clientSignature
    ) private view returns (bytes32 requestHash) {
        requestHash = _hashTypedDataV4(VerityTypes.hash(request));
        address client = ECDSA.recover(requestHash, clientSignature);
        // INVARIANT: a receipt is bound to the request its client signed.
        if (
            requestHash != receipt.requestHash || client != receipt.client || request.node != node || receipt.node != node
                || request.modelId != receipt.modelId || request.inputHash != receipt.inputHash || request.mode != receipt.mode
                || receipt.fee > request.maxFee
        ) revert ReceiptMismatch(challengeId);
    }

    /// @notice Applies the dispute game's ruling on an open execution challenge: node lost → the
    ///         receipt is overturned (`_overturn`); challenger lost → its bond goes to the node.
    ///         A node that concedes a decoy (ruling 2) pays the challenger `decoyReward` instead.
    function resolveChallenge(uint256 challengeId, uint8 ruling) external nonReentrant {
        IDisputeGame game = disputeGame;
        // INVARIANT: only the bound game rules.
        if (msg.sender != address(game) || address(game) == address(0)) revert NotDisputeGame(msg.sender);
        Challenge storage entry = _challenges[challengeId];
        if (entry.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
        BatchRecord storage batch = _batches[entry.batchId];
        if (ruling != 0) {
            _overturn(challengeId, entry, batch, ruling == 2);
        } else {
            entry.status = ChallengeStatus.Rejected;
            address node = nodes.operatorById(NodeRegistry.Role.Inference, batch.nodeId);
            if (entry.bond > 0) claimable[node] += entry.bond;
            emit ChallengeRejected(challengeId, entry.batchId, node, entry.bond);
        }
        _closeChallenge(batch);
    }

    /// @notice Closes a challenge past its time. A data challenge the node did not answer within
    ///         `dataResponseTime` overturns the receipt. An execution challenge no game resolved
    ///         within `maxDisputeDuration` (a game is always decidable before) returns the bond.
    function expireChallenge(uint256 challengeId) external nonReentrant {
        Challenge storage entry = _challenges[challengeId];
        if (entry.status == ChallengeStatus.None) revert UnknownChallenge(challengeId);
        if (entry.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
        BatchRecord storage batch = _batches[entry.batchId];
        if (entry.kind == ChallengeKind.Data) {
            uint64 deadline = uint64(entry.openedAt) + dataResponseTime;
            // INVARIANT: the node has its full response time.
            if (block.timestamp < deadline) revert DisputeStillRunning(challengeId, deadline);
            _overturn(challengeId, entry, batch, false);
        } else {
            uint64 expiresAt = uint64(entry.openedAt) + maxDisputeDuration;
            // INVARIANT: funds never lock forever, but a running dispute gets its full duration.
            if (block.timestamp < expiresAt) revert DisputeStillRunning(challengeId, expiresAt);
            entry.status = ChallengeStatus.Expired;
            uint256 bond = entry.bond;
            if (bond > 0) token.safeTransfer(entry.challenger, bond);
            emit ChallengeExpired(challengeId, entry.batchId);
        }
        _closeChallenge(batch);
    }

    /// @notice Slashes `verifier` for having attested receipt `receiptIndex`, which was overturned:
    ///         `bitmap` is the attestation it sent (checked against the one recorded). Once per
    ///         verifier per batch; the caller gets `bountyBps` of the slash, the rest is burned.
    function slashAttester(uint256 batchId, uint32 receiptIndex, address verifier, uint256[] calldata bitmap)
        external
        nonReentrant
        returns (uint256 slashed)
    {
        if (!_overturned[batchId][receiptIndex]) revert NotOverturned(batchId, receiptIndex);
        bytes32 record = _attestations[batchId][verifier];
        // INVARIANT: an attestation is a staked claim on each receipt it sets.
        if (record == 0 || record == ATTESTER_SLASHED || record != _bitmapKey(bitmap) || !Bitmap.isSet(bitmap, receiptIndex)) {
            revert NotAttested(batchId, verifier, receiptIndex);
        }
        _attestations[batchId][verifier] = ATTESTER_SLASHED;
        slashed = nodes.slash(verifier, NodeRegistry.Role.Verifier, attesterSlash, address(this));
        uint256 bounty = (slashed * bountyBps) / BPS;
        if (bounty > 0) claimable[msg.sender] += bounty;
        if (slashed > bounty) token.safeTransfer(BURN, slashed - bounty);
        emit AttesterSlashed(batchId, verifier, receiptIndex, slashed, msg.sender);
    }

    /// @notice The node reveals its batch's decoy salt once the window has ended (finalize needs it):
    ///         the batch root is keccak256(receiptsRoot ‖ keccak256(abi.encode(salt))).
    function revealDecoys(uint256 batchId, bytes32 salt, bytes32 receiptsRoot) external {
        BatchRecord storage batch = _batches[batchId];
        if (batch.status == BatchStatus.None) revert UnknownBatch(batchId);
        uint64 endsAt = uint64(batch.committedAt) + challengeWindow;
        // INVARIANT: decoys stay hidden while verifiers can still attest.
        if (block.timestamp < endsAt) revert ChallengeWindowOpen(batchId, endsAt);
        bytes32 root = keccak256(abi.encodePacked(receiptsRoot, keccak256(abi.encode(salt))));
        if (batch.decoysRevealed || root != batch.root) revert DataMismatch(batch.root, root);
        batch.decoysRevealed = true;
        emit DecoysRevealed(batchId, salt);
    }

    /// @notice Checks decoy `decoy` of a revealed batch against leaf `receipt` at its position
    ///         (`decoyPosition`). Present (output hash = keccak(abi.encode(secret))): the receipt
    ///         counts as overturned, so its attesters can be slashed. Missing: the node is slashed
    ///         `receiptSlash`, `bountyBps` of it to the caller, the rest burned. `salt` is the one
    ///         `revealDecoys` showed.
    function proveDecoy(uint256 batchId, uint32 decoy, bytes32 salt, Receipt calldata receipt, bytes32[] calldata proof)
        external
        nonReentrant
        returns (uint256 slashed)
    {
        BatchRecord storage batch = _batches[batchId];
        // The salt is the revealed one: its commitment is the proof's last element, checked through the root.
        if (!batch.decoysRevealed || proof.length == 0 || proof[proof.length - 1] != keccak256(abi.encode(salt))) {
            revert DecoysNotRevealed(batchId);
        }
        (uint32 position, bytes32 secret) = decoyPosition(salt, decoy, batch.count);
        if (ReceiptMerkle.batchRootFrom(receiptDigest(receipt), position, batch.count, proof) != batch.root) {
            revert InvalidInclusionProof(batchId, position);
        }
        if (_decoyProven[batchId][decoy]) revert AlreadyOverturned(batchId, position);
        _decoyProven[batchId][decoy] = true;
        bool present = receipt.outputHash == keccak256(abi.encode(secret));
        if (present) {
            _overturned[batchId][position] = true;
        } else {
            address node = nodes.operatorById(NodeRegistry.Role.Inference, batch.nodeId);
            slashed = nodes.slash(node, NodeRegistry.Role.Inference, receiptSlash, address(this));
            uint256 bounty = (slashed * bountyBps) / BPS;
            if (bounty > 0) claimable[msg.sender] += bounty;
            if (slashed > bounty) token.safeTransfer(BURN, slashed - bounty);
        }
        emit DecoyProven(batchId, position, present, slashed, msg.sender);
    }

    /// @notice Where decoy `decoy` of a batch of `count` leaves sits, and its secret: the batch has
    ///         ceil(count × decoyRateBps / BPS) decoys, decoy j at a secret offset of segment j.
    ///         Reverts for a decoy number the batch does not have.
    function decoyPosition(bytes32 salt, uint32 decoy, uint32 count) public view returns (uint32 position, bytes32 secret) {
        uint256 decoys = (uint256(count) * decoyRateBps + BPS - 1) / BPS;
        if (decoy >= decoys) revert InvalidInclusionProof(decoys, decoy);
        uint256 stride = count / decoys;
        secret = keccak256(abi.encode(salt, uint256(decoy)));
        position = uint32(decoy * stride + (uint256(secret) % stride));
    }

    /// @notice Whether the receipt at `receiptIndex` of the batch was overturned.
    function isOverturned(uint256 batchId, uint32 receiptIndex) external view returns (bool) {
        return _overturned[batchId][receiptIndex];
    }

    /// @dev Opens a challenge of either kind against a committed receipt within the window.
    function _openChallenge(uint256 batchId, Receipt calldata receipt, uint32 receiptIndex, bytes32[] calldata proof, ChallengeKind kind)
        private
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
        if (ReceiptMerkle.batchRootFrom(digest, receiptIndex, batch.count, proof) != batch.root) {
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
            kind: kind,
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
    }

    /// @dev The node lost: the receipt is overturned once, the node slashed `receiptSlash` (reserved
    ///      at commit, so it is there), the client refunded the receipt's fee out of the slash, the
    ///      challenger paid its bond and `bountyBps` of the rest, the remainder burned. A receipt
    ///      already overturned by another challenge only returns this challenger's bond.
    function _overturn(uint256 challengeId, Challenge storage entry, BatchRecord storage batch, bool decoy) private {
        uint256 batchId = entry.batchId;
        uint256 bond = entry.bond;
        entry.status = ChallengeStatus.Upheld;
        if (_overturned[batchId][entry.receiptIndex]) {
            // INVARIANT: a wrong receipt is punished once; a later challenger that was also right gets its bond back.
            if (bond > 0) claimable[entry.challenger] += bond;
            emit ChallengeRedundant(challengeId, batchId, entry.receiptIndex, bond);
            return;
        }
        _overturned[batchId][entry.receiptIndex] = true;
        address node = nodes.operatorById(NodeRegistry.Role.Inference, batch.nodeId);
        // The penalty: `receiptSlash` of stake (reserved at commit), the bounty to the challenger, the rest burned.
        // A conceded decoy: the node pays the challenger `decoyReward` for having checked, from its
        // verification pot first (the verifiers' share of its fees), then its stake.
        uint256 penalty = decoy ? decoyReward : receiptSlash;
        uint256 pot = decoy ? verificationPot[batch.nodeId] : 0;
        if (pot > penalty) pot = penalty;
        verificationPot[batch.nodeId] -= pot;
        uint256 slashed = pot + nodes.slash(node, NodeRegistry.Role.Inference, penalty - pot, address(this));
        uint256 bounty = decoy ? slashed : (slashed * bountyBps) / BPS;
        claimable[entry.challenger] += bond + bounty;
        if (slashed > bounty) token.safeTransfer(BURN, slashed - bounty);
        uint256 refund = _restitute(entry.client, node, entry.fee);
        emit ReceiptOverturned(challengeId, batchId, entry.receiptIndex, entry.client, refund, slashed, bounty);
    }

    /// @dev Gives the client back the fee of an overturned receipt, on top of the penalty: what it paid
    ///      on its channel with the node and was not refunded yet, taken from the node's earnings, then
    ///      from its stake; the part it has not paid yet is deducted from the channel's next redemptions.
    // INVARIANT: a refund never exceeds what the client paid the node, so naming a client that paid
    //            nothing (or the node's own account) cannot turn the penalty into a payment.
    function _restitute(address client, address node, uint256 fee) private returns (uint256 refund) {
        Channel storage channel = _channels[client][node];
        uint256 paid = channel.refundable;
        uint256 due = fee < paid ? fee : paid;
        if (fee > due) channelCredit[client][node] += fee - due;
        if (due == 0) return 0;
        uint256 earned = claimable[node];
        refund = due < earned ? due : earned;
        claimable[node] = earned - refund;
        if (due > refund) refund += nodes.slash(node, NodeRegistry.Role.Inference, due - refund, address(this));
        channel.refundable = uint128(paid - refund);
        _escrows[client].balance += uint128(refund);
    }

    function _closeChallenge(BatchRecord storage batch) private {
        batch.openChallenges -= 1;
        if (batch.openChallenges == 0) batch.status = BatchStatus.Committed;
    }

    /// @dev The leaf of the receipt answering `request`: its fields follow from the request but for
    ///      the output, the fee and the time.
    function _receiptLeaf(bytes32 requestHash, InferenceRequest calldata request, address client, Redemption calldata at)
        private
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    VerityTypes.RECEIPT_TYPEHASH,
                    requestHash,
                    request.modelId,
                    request.inputHash,
                    at.outputHash,
                    request.node,
                    client,
                    at.fee,
                    at.issuedAt,
                    request.mode
                )
            )
        );
    }

    function _bitmapKey(uint256[] calldata bitmap) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(bitmap)) | bytes32(uint256(1));
    }

    // ─── views ─────────────────────────────────────────────────────────────────────────────────

    /// @notice The batch's record (all zero for an unknown id).
    function getBatch(uint256 batchId) external view returns (Batch memory) {
        BatchRecord memory record = _batches[batchId];
        return Batch({
            root: record.root,
            node: record.nodeId == 0 ? address(0) : nodes.operatorById(NodeRegistry.Role.Inference, record.nodeId),
            feeTotal: record.feeTotal,
            count: record.count,
            committedAt: record.committedAt,
            status: record.status,
            openChallenges: record.openChallenges,
            attesters: record.attesters
        });
    }

    /// @notice How far the client's vouchers to `node` were redeemed (the last `channelTotal` paid).
    function channelPaid(address client, address node) external view returns (uint128) {
        return _channels[client][node].paid;
    }

    /// @notice Whether `verifier` attested the batch.
    function hasAttested(uint256 batchId, address verifier) external view returns (bool) {
        return _attestations[batchId][verifier] != 0;
    }

    /// @notice A node's number of commits so far and its receipts in batches not yet finalized.
    function exposureOf(address node) external view returns (Exposure memory) {
        return _exposure[nodes.getOperator(node, NodeRegistry.Role.Inference).id];
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
        return ReceiptMerkle.batchRootFrom(receiptDigest(receipt), receiptIndex, batch.count, proof) == batch.root;
    }

    /// @notice EIP-712 digest of a receipt: the message the node signs and the leaf of the batch tree.
    function receiptDigest(Receipt calldata receipt) public view returns (bytes32) {
        return _hashTypedDataV4(VerityTypes.hash(receipt));
    }

    /// @notice Semantic version of this contract's interface.
    function version() external pure returns (string memory) {
        return "3.0.0";
    }
}
