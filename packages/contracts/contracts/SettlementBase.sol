// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {NodeRegistry} from "./NodeRegistry.sol";
import {IDisputeGame} from "./dispute/IDisputeGame.sol";
import {TensorHasher} from "./lib/TensorHasher.sol";
import {Receipt, VerityTypes} from "./generated/VerityTypes.sol";

/// @title SettlementBase
/// @notice What `Settlement` and `SettlementChallenges` share: the types, parameters, storage layout,
///         events and errors, and the rules both apply (overturning a receipt, refunding its client).
///         `Settlement` runs the money and batch paths and forwards every other call by DELEGATECALL
///         to its `SettlementChallenges` module (challenges, data, decoys, attester slashing), so
///         the two run on one storage: both inherit this contract, and neither declares state of
///         its own. Split so that neither comes near the EIP-170 code-size limit.
abstract contract SettlementBase is EIP712, ReentrancyGuard {
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

    /// @notice Execution: a dispute game rules. Data: the node must publish a named receipt's request
    ///         and input. Availability: only (batch, index) named — the node must publish the leaf,
    ///         its inclusion proof, request and input. Inclusion: a client holding a node-signed
    ///         receipt asks the node to prove it committed it (`batchId` / `receiptIndex` set once proven).
    enum ChallengeKind {
        Execution,
        Data,
        Availability,
        Inclusion
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
        uint96 dataChallengeBond;
        /// @dev The adaptive sampling policy (`samplingRateBps`) and its deploy-time floor.
        uint16 minSampleRateBps;
        uint16 baseRateBps;
        uint16 newNodeRateBps;
        uint32 maturityCommits;
        uint16 overturnedRateBps;
        uint16 maxRateBps;
    }

    /// @notice What a batch's assignment of receipts to verifiers is drawn from, fixed at its commit
    ///         (one slot): the commit's block (whose hash is the seed), the node's sampling rate P in
    ///         basis points, and the number V of verifiers active then (`NodeRegistry.activeCount`).
    struct Assignment {
        uint64 commitBlock;
        uint16 rateBps;
        uint32 verifiers;
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
        /// @dev The node an inclusion challenge is against (zero for the other kinds: the batch names it).
        address node;
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
    /// @notice Bond of a data, availability or inclusion challenge: what the node's answer costs it in
    ///         gas (docs/economics.md), paid to the node when it answers, so answering earns nothing.
    uint96 public immutable dataChallengeBond;

    /// @notice Floor of every batch's sampling rate P (basis points): a deployment-time choice (a
    ///         devnet that checks everything sets 10,000); the adaptive rule never goes below it.
    uint16 public immutable minSampleRateBps;
    /// @notice The adaptive sampling policy (docs/economics.md, "Adaptive sampling"; `samplingRateBps`).
    uint16 public immutable baseRateBps;
    uint16 public immutable newNodeRateBps;
    uint32 public immutable maturityCommits;
    uint16 public immutable overturnedRateBps;
    uint16 public immutable maxRateBps;

    address internal immutable _deployer;
    /// @notice Computes the runtime's `tensorsHash` of published inputs (its own contract, to keep this one small).
    TensorHasher public immutable inputHasher;
    /// @notice The game that decides challenges, bound once after deployment.
    IDisputeGame public disputeGame;

    /// @notice An attestation as its verifier sent it (`attest`), named in a refutation.
    struct AttestationRef {
        address verifier;
        uint256[] bitmap;
        bytes tags;
    }

    uint256 public batchCount;
    uint256 public challengeCount;
    mapping(uint256 batchId => BatchRecord) internal _batches;
    /// @dev `_attestationKey` of the attested bitmap and execution tags (never zero), with UNPAID set
    ///      for an attestation outside the verifier's assignment; ATTESTER_SLASHED (ATTESTER_SLASHED_UNPAID)
    ///      once slashed.
    mapping(uint256 batchId => mapping(address verifier => bytes32)) internal _attestations;
    mapping(address client => Escrow) internal _escrows;
    mapping(uint256 challengeId => Challenge) internal _challenges;
    mapping(address account => uint256) public claimable;
    mapping(uint256 batchId => mapping(uint32 receiptIndex => bool)) internal _overturned;
    /// @dev Each client's channel with each node: how far its vouchers were redeemed, and what it paid
    ///      and was not refunded (the most an overturned receipt can give back).
    mapping(address client => mapping(address node => Channel)) internal _channels;
    /// @notice Fees of overturned receipts the client had not paid yet: deducted from its next redemptions.
    mapping(address client => mapping(address node => uint256)) public channelCredit;
    mapping(uint32 nodeId => Exposure) internal _exposure;
    /// @notice Per node: the verifiers' share of its redeemed fees, paid out to the attesters of its batches.
    mapping(uint32 nodeId => uint256) public verificationPot;
    mapping(uint256 batchId => mapping(uint256 decoy => bool)) internal _decoyProven;
    /// @dev Receipts (by digest) whose client was refunded or had its fee credited: never again.
    mapping(bytes32 receiptDigest => bool) internal _receiptSettled;
    /// @dev The open inclusion challenge of a receipt (by digest), if any: one at a time, so a node
    ///      that missed one deadline is slashed once, not once per challenge its client piled up.
    mapping(bytes32 receiptDigest => uint256 challengeId) internal _inclusionOpen;

    /// @dev Per batch: what its verifiers' selections are drawn from (`Assignment`).
    mapping(uint256 batchId => Assignment) internal _assignments;
    /// @dev Per batch: the seed of its selections, the commit block's hash, once read (`anchorSeed`).
    mapping(uint256 batchId => bytes32) internal _seeds;
    /// @notice Per node (registry id): its receipts overturned with a full `receiptSlash` (lost
    ///         disputes, unpublished data, missing decoys, unproven inclusions) — what raises its sampling rate.
    mapping(uint32 nodeId => uint32) public fullSlashes;
    /// @dev Leaves each account challenged (any kind): an attestation may leave out an assigned leaf
    ///      only if its verifier challenged it (a decoy, a wrong output, unavailable data).
    mapping(uint256 batchId => mapping(uint256 leaf => mapping(address challenger => bool))) internal _challengedBy;

    bytes32 internal constant ATTESTER_SLASHED = bytes32(uint256(2));
    bytes32 internal constant ATTESTER_SLASHED_UNPAID = bytes32(uint256(6));
    /// @dev Marks the record of an unpaid attestation (a verifier assigned nothing in the batch).
    bytes32 internal constant UNPAID = bytes32(uint256(2));
    /// @notice Bytes of one execution tag: an attestation carries one per receipt it sets.
    uint256 public constant TAG_BYTES = 8;

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
    /// @notice `tags` holds one execution tag (`TAG_BYTES`) per receipt `bitmap` sets, in receipt order.
    /// @notice `paid`: the attestation covers the verifier's assignment and shares the batch's pool; an
    ///         attestation by a verifier assigned nothing (of quorum receipts, say) is a staked claim that
    ///         is not paid.
    event Attested(uint256 indexed batchId, address indexed verifier, uint32 receipts, uint256[] bitmap, bytes tags, bool paid);
    /// @notice `verifier`'s tag for receipt `receiptIndex` was shown wrong from the receipt's outputs:
    ///         it attested a receipt it had not executed (slashed, see `AttesterSlashed`).
    event ExecutionTagRefuted(uint256 indexed batchId, address indexed verifier, uint32 receiptIndex, address by);
    event AttesterSlashed(uint256 indexed batchId, address indexed verifier, uint32 receiptIndex, uint256 slashed, address by);
    event DataChallenged(uint256 indexed challengeId, uint256 indexed batchId, uint32 receiptIndex, uint64 deadline);
    event DataPublished(uint256 indexed challengeId, uint256 indexed batchId, bytes32 requestHash, bytes[] inputs);
    /// @notice The node's answer to an availability challenge: the leaf at the challenged index and its proof.
    event ReceiptPublished(uint256 indexed challengeId, uint256 indexed batchId, uint32 receiptIndex, Receipt receipt, bytes32[] proof);
    event InclusionChallenged(
        uint256 indexed challengeId, address indexed node, address indexed client, bytes32 receiptDigest, uint96 fee, uint64 deadline
    );
    /// @notice The node proved the receipt committed; `refund` > 0 when it was at an overturned leaf.
    event InclusionProven(uint256 indexed challengeId, uint256 indexed batchId, uint32 receiptIndex, uint256 refund);
    /// @notice The node did not prove the receipt committed in time: slashed, the client refunded.
    event InclusionExpired(
        uint256 indexed challengeId, address indexed node, address indexed client, uint256 refund, uint256 slashed, uint256 bounty
    );
    /// @notice The verifiers' share of a batch nobody attested, burned (a batch nobody checked pays no one).
    event VerifierShareBurned(uint256 indexed batchId, uint256 amount);
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
    /// @notice The batch's selection seed (its commit block's hash) was read and stored.
    event SeedAnchored(uint256 indexed batchId, bytes32 seed);
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
    error TagsLength(uint256 expected, uint256 found);
    error TagCorrect(uint256 batchId, address verifier, uint32 receiptIndex);
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
    error DataChallengeTooLate(uint256 batchId, uint64 latestAt);
    error ResponseTimeTooLong(uint256 dataResponseTime, uint256 challengeWindow);
    error NotReceiptClient(address client, address caller);
    error BadNodeSignature(address recovered, address node);
    error ReceiptSettledAlready(bytes32 receiptDigest);
    /// @notice The attestation leaves out leaf `leaf` of the verifier's selection for the batch, and the
    ///         verifier did not challenge it.
    error SelectionNotCovered(uint256 batchId, address verifier, uint256 leaf);
    /// @notice No leaf of the batch is assigned to the verifier: nothing to attest, nothing to be paid.
    /// @notice The seed is the hash of the commit's block, readable only from the next block on.
    error SeedNotYetAvailable(uint256 batchId, uint64 commitBlock);
    /// @notice The commit's block is more than 256 blocks old and its seed was never anchored.
    error SeedExpired(uint256 batchId, uint64 commitBlock);
    error InvalidRate(uint256 bps);
    error InclusionChallengeOpen(bytes32 receiptDigest, uint256 challengeId);

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
        // INVARIANT: a data challenge can be opened and answered inside the window.
        if (params.dataResponseTime >= params.challengeWindow) revert ResponseTimeTooLong(params.dataResponseTime, params.challengeWindow);
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
        dataChallengeBond = params.dataChallengeBond;
        if (params.minSampleRateBps > BPS) revert InvalidRate(params.minSampleRateBps);
        if (params.baseRateBps > BPS) revert InvalidRate(params.baseRateBps);
        minSampleRateBps = params.minSampleRateBps;
        baseRateBps = params.baseRateBps;
        newNodeRateBps = params.newNodeRateBps;
        maturityCommits = params.maturityCommits;
        overturnedRateBps = params.overturnedRateBps;
        maxRateBps = params.maxRateBps;
        _deployer = msg.sender;
    }

    /// @dev The node lost: the receipt is overturned once, the node slashed `receiptSlash` (reserved
    ///      at commit, so it is there), the client refunded the receipt's fee out of the slash, the
    ///      challenger paid its bond and `bountyBps` of the rest, the remainder burned. A receipt
    ///      already overturned by another challenge only returns this challenger's bond.
    function _overturn(uint256 challengeId, Challenge storage entry, BatchRecord storage batch, bool decoy) internal {
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
        if (!decoy) fullSlashes[batch.nodeId] += 1;
        uint256 bounty = decoy ? slashed : (slashed * bountyBps) / BPS;
        claimable[entry.challenger] += bond + bounty;
        if (slashed > bounty) token.safeTransfer(BURN, slashed - bounty);
        // An availability challenge names no client (the node withheld the leaf): that client claims
        // its refund with `challengeInclusion`.
        uint256 refund;
        if (entry.receiptDigest != 0 && !_receiptSettled[entry.receiptDigest]) {
            _receiptSettled[entry.receiptDigest] = true;
            refund = _restitute(entry.client, node, entry.fee);
        }
        emit ReceiptOverturned(challengeId, batchId, entry.receiptIndex, entry.client, refund, slashed, bounty);
    }

    /// @dev Gives the client back the fee of an overturned receipt, on top of the penalty: what it paid
    ///      on its channel with the node and was not refunded yet, taken from the node's earnings, then
    ///      from its stake; the part it has not paid yet is deducted from the channel's next redemptions.
    // INVARIANT: a refund never exceeds what the client paid the node, so naming a client that paid
    //            nothing (or the node's own account) cannot turn the penalty into a payment.
    function _restitute(address client, address node, uint256 fee) internal returns (uint256 refund) {
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

    /// @notice The sampling rate P (basis points) of a node's batch, from what the chain holds at its
    ///         commit: the node's active `stake`, its receipts in open batches `openReceipts` and its
    ///         `commits` (both including the batch), its `overturned` full-slash receipts. A new node
    ///         starts at `newNodeRateBps`, falling linearly to `baseRateBps` over `maturityCommits`
    ///         commits; each overturned receipt adds `overturnedRateBps`; a stake covering its open
    ///         receipts' slashes less than twice scales the rate up to ×2; capped by `maxRateBps`, never
    ///         below `baseRateBps` nor `minSampleRateBps`. Mirrored exactly by `samplingRateBps` in
    ///         the node package (selection.ts).
    function samplingRateBps(uint256 stake, uint256 openReceipts, uint256 commits, uint256 overturned) public view returns (uint16) {
        uint256 base = baseRateBps;
        uint256 mature = maturityCommits;
        uint256 young = commits < mature ? mature - commits : 0;
        uint256 boost = mature > 0 && newNodeRateBps > base ? ((newNodeRateBps - base) * young) / mature : 0;
        uint256 bps = base + boost + uint256(overturnedRateBps) * overturned;
        uint256 reserved = openReceipts * receiptSlash;
        uint256 coverage = reserved == 0 ? 20_000 : (stake * BPS) / reserved;
        if (coverage < 20_000) bps = (bps * (30_000 - (coverage < BPS ? BPS : coverage))) / BPS;
        if (bps > maxRateBps) bps = maxRateBps;
        if (bps > BPS) bps = BPS;
        if (bps < base) bps = base;
        if (bps < minSampleRateBps) bps = minSampleRateBps;
        return uint16(bps);
    }

    /// @notice How many leaves a verifier draws from a batch of `count` leaves sampled at `rateBps`
    ///         (P) with `verifiers` (V) verifiers: λ = count · q with q = P / ((1 − P) · V), rounded
    ///         to an integer at random — floor(λ), plus one with probability frac(λ) decided by
    ///         `extraDraw` (uint256(keccak256(abi.encode(seed, verifier, batchId, type(uint256).max))))
    ///         — so a leaf is drawn by a given verifier with probability ≈ q and checked by at least one
    ///         of V honest verifiers with probability ≥ P up to V / (8 · count²) (−ln(1 − P) ≤ P / (1 − P)).
    ///         Draw k ∈ [0, draws) names leaf uint256(keccak256(abi.encode(seed, verifier, batchId, k))) % count.
    ///         `all` when q ≥ 1 (every leaf is assigned); 0 draws when V = 0 or P = 0.
    ///         The cost of checking a selection grows with the leaves drawn, not with the batch.
    ///         Mirrored exactly by `selectionDraws` in the node package (selection.ts).
    function selectionDraws(uint256 rateBps, uint256 verifiers, uint256 count, uint256 extraDraw)
        public
        pure
        returns (uint256 draws, bool all)
    {
        if (verifiers == 0 || rateBps == 0 || count == 0) return (0, false);
        if (rateBps >= BPS) return (count, true);
        uint256 denominator = (BPS - rateBps) * verifiers;
        if (rateBps >= denominator) return (count, true);
        uint256 numerator = rateBps * count;
        draws = numerator / denominator;
        if (extraDraw % denominator < numerator % denominator) draws += 1;
    }

    function _closeChallenge(BatchRecord storage batch) internal {
        batch.openChallenges -= 1;
        if (batch.openChallenges == 0) batch.status = BatchStatus.Committed;
    }

    /// @dev What `_attestations` records of an attestation: its bitmap and tags, lowest bit set (never
    ///      zero), bits 1 and 2 clear (UNPAID marks an unpaid one).
    function _attestationKey(uint256[] calldata bitmap, bytes calldata tags) internal pure returns (bytes32) {
        return (keccak256(abi.encodePacked(keccak256(abi.encodePacked(bitmap)), keccak256(tags))) & ~bytes32(uint256(7))) | bytes32(uint256(1));
    }

    /// @dev EIP-712 digest of a receipt: the message the node signs and the leaf of the batch tree.
    function _receiptDigest(Receipt calldata receipt) internal view returns (bytes32) {
        return _hashTypedDataV4(VerityTypes.hash(receipt));
    }
}
