// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";
import {NodeRegistry} from "./NodeRegistry.sol";
import {IDisputeGame} from "./dispute/IDisputeGame.sol";
import {Bitmap} from "./lib/Bitmap.sol";
import {ReceiptMerkle} from "./lib/ReceiptMerkle.sol";
import {TensorHasher} from "./lib/TensorHasher.sol";
import {InferenceRequest, Receipt, VerityTypes} from "./generated/VerityTypes.sol";
import {SettlementBase} from "./SettlementBase.sol";
import {SettlementChallenges} from "./SettlementChallenges.sol";

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
///
///         Code layout: the challenge paths live in `SettlementChallenges` (deployed by this
///         constructor, run by DELEGATECALL from `fallback` on this contract's storage); both share
///         `SettlementBase`. Callers see one contract: the published ABI is the union of both.
contract Settlement is SettlementBase, Multicall {
    using SafeERC20 for IERC20;

    /// @notice The module that runs the challenge paths on this contract's storage (see `fallback`).
    SettlementChallenges public immutable challengesModule;

    /// @param token_ the ERC-20 of fees and bonds (the registry's staking token).
    /// @param nodes_ the registry whose active inference nodes commit and whose verifiers attest.
    /// @param params the protocol's economic and timing parameters (`Params`).
    /// @param inputHasher_ the contract that hashes published input tensors as the runtime does.
    constructor(IERC20 token_, NodeRegistry nodes_, TensorHasher inputHasher_, Params memory params)
        SettlementBase(token_, nodes_, inputHasher_, params)
    {
        // Same parameters, so the module's immutables equal this contract's.
        challengesModule = new SettlementChallenges(token_, nodes_, inputHasher_, params);
    }

    /// @notice Every function not defined here (challenges, data, decoys, attester slashing) runs
    ///         in `challengesModule` by DELEGATECALL, on this contract's storage and with the
    ///         caller's `msg.sender`; its result or revert is passed back unchanged.
    fallback() external {
        address module = address(challengesModule);
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, 0, calldatasize())
            let ok := delegatecall(gas(), module, ptr, calldatasize(), 0, 0)
            returndatacopy(ptr, 0, returndatasize())
            if iszero(ok) { revert(ptr, returndatasize()) }
            return(ptr, returndatasize())
        }
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
        // The assignment: the node's sampling rate from its record as of this commit, the verifiers
        // active now; the seed is this block's hash, which nobody knows before it is mined.
        _assignments[batchId] = Assignment({
            commitBlock: uint64(block.number),
            rateBps: samplingRateBps(staked, open, sequence, fullSlashes[nodeId]),
            verifiers: uint32(nodes.activeCount(NodeRegistry.Role.Verifier))
        });
        emit BatchCommitted(batchId, msg.sender, root, count, feeTotal, sequence, uint64(block.timestamp) + challengeWindow, dataURI);
    }

    /// @notice Attests, for the caller (a staked verifier), that it re-executed the receipts set in
    ///         `bitmap` and found them correct — a claim it stakes on: if one of them is overturned,
    ///         anyone can `slashAttester`. One attestation per verifier per batch, within the window.
    ///         The bitmap must cover the caller's whole selection (`isAssigned`: drawn from the commit
    ///         block's hash, so the node could not predict it and the verifier cannot choose it) but for
    ///         the leaves the caller challenged (a decoy or a wrong output found, data unavailable); a
    ///         verifier with an empty selection has nothing to attest and is not paid.
    ///         `tags` holds, per receipt set, in receipt order, its execution tag (`SettlementChallenges._executionTag`): a
    ///         value only a party that knows the receipt's outputs can compute, which the node and
    ///         clients keep to themselves (verifiers get inputs, never outputs). A wrong tag shows the
    ///         verifier attested without executing: anyone with the outputs can `refuteAttestation`.
    function attest(uint256 batchId, uint256[] calldata bitmap, bytes calldata tags) external {
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
        // INVARIANT: an attestation carries one execution tag per receipt it sets (`refuteAttestation`).
        if (tags.length != receipts * TAG_BYTES) revert TagsLength(receipts * TAG_BYTES, tags.length);
        // INVARIANT: a verifier attests every leaf assigned to it that it did not challenge, or nothing:
        // it cannot pick the receipts it knows are right (its own, or those of paying clients).
        // A verifier assigned nothing may still attest (the quorum receipts it re-executed): a staked
        // claim, refutable and slashable like any, but not counted among the batch's paid attesters.
        bool paid = _checkSelectionCovered(batchId, batch.count, receipts, bitmap);
        _attestations[batchId][msg.sender] = paid ? _attestationKey(bitmap, tags) : _attestationKey(bitmap, tags) | UNPAID;
        if (paid) batch.attesters += 1;
        emit Attested(batchId, msg.sender, uint32(receipts), bitmap, tags, paid);
    }

    /// @notice Reads and stores the batch's selection seed (its commit block's hash) — permissionless,
    ///         possible from the block after the commit until 256 blocks later (`attest` does it too).
    function anchorSeed(uint256 batchId) external returns (bytes32) {
        if (_batches[batchId].status == BatchStatus.None) revert UnknownBatch(batchId);
        return _seedOf(batchId);
    }

    /// @dev The batch's seed, read from `blockhash` and stored the first time.
    function _seedOf(uint256 batchId) private returns (bytes32 seed) {
        seed = _seeds[batchId];
        if (seed != 0) return seed;
        uint64 commitBlock = _assignments[batchId].commitBlock;
        if (block.number <= commitBlock) revert SeedNotYetAvailable(batchId, commitBlock);
        seed = blockhash(commitBlock);
        // INVARIANT: the seed is the commit block's hash or nothing: once unreadable, nobody attests.
        if (seed == 0) revert SeedExpired(batchId, commitBlock);
        _seeds[batchId] = seed;
        emit SeedAnchored(batchId, seed);
    }

    /// @dev Reverts unless `bitmap` sets every leaf of the caller's selection it did not challenge;
    ///      whether the selection is not empty (the attestation is paid). Costs one hash per leaf drawn
    ///      (`selectionDraws`), not per leaf.
    function _checkSelectionCovered(uint256 batchId, uint256 count, uint256 receipts, uint256[] calldata bitmap)
        private
        returns (bool paid)
    {
        Assignment memory assignment = _assignments[batchId];
        address verifier = msg.sender;
        if (assignment.verifiers == 0 || assignment.rateBps == 0) return false;
        (uint256 draws, bool all) = selectionDraws(assignment.rateBps, assignment.verifiers, count, 0);
        if (all) {
            // Every leaf is assigned: the bitmap must set every leaf the caller did not challenge.
            if (receipts == count) return true;
            for (uint256 i = 0; i < count; i++) {
                if ((bitmap[i >> 8] >> (i & 255)) & 1 == 0 && !_challengedBy[batchId][i][verifier]) {
                    revert SelectionNotCovered(batchId, verifier, i);
                }
            }
            return true;
        }
        bytes32 seed = _seedOf(batchId);
        // The draws' preimage abi.encode(seed, verifier, batchId, k), in memory allocated once; only k changes.
        uint256 preimage;
        assembly ("memory-safe") {
            preimage := mload(0x40)
            mstore(0x40, add(preimage, 0x80))
            mstore(preimage, seed)
            mstore(add(preimage, 0x20), verifier)
            mstore(add(preimage, 0x40), batchId)
        }
        (draws,) = selectionDraws(assignment.rateBps, assignment.verifiers, count, _draw(preimage, type(uint256).max));
        if (draws == 0) return false;
        for (uint256 k = 0; k < draws;) {
            uint256 leaf = _draw(preimage, k) % count;
            if ((bitmap[leaf >> 8] >> (leaf & 255)) & 1 == 0 && !_challengedBy[batchId][leaf][verifier]) {
                revert SelectionNotCovered(batchId, verifier, leaf);
            }
            unchecked {
                ++k;
            }
        }
        return true;
    }

    /// @dev uint256(keccak256(abi.encode(seed, verifier, batchId, k))) with the first three words at `preimage`.
    function _draw(uint256 preimage, uint256 k) private pure returns (uint256 draw) {
        assembly ("memory-safe") {
            mstore(add(preimage, 0x60), k)
            draw := keccak256(preimage, 0x80)
        }
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
        uint256 pot = verificationPot[nodeId];
        uint256 pool = (feeTotal * verifierShareBps) / BPS;
        if (pool > pot) pool = pot;
        if (count == 0) {
            // INVARIANT: a batch nobody checked pays the node no more than one that was checked: the
            // verifiers' share is burned, not left to the node (whose pot pays its decoy rewards).
            if (pool > 0) {
                verificationPot[nodeId] = pot - pool;
                token.safeTransfer(BURN, pool);
                emit VerifierShareBurned(batchId, pool);
            }
            return 0;
        }
        uint256 share = pool / count;
        address previous;
        for (uint256 i = 0; i < count; i++) {
            address verifier = attesters[i];
            if (verifier <= previous) revert AttestersNotSorted(i);
            previous = verifier;
            bytes32 record = _attestations[batchId][verifier];
            // INVARIANT: only the paid attesters are listed (an unpaid one in place of a paid one would take its share).
            if (record == 0 || record == ATTESTER_SLASHED_UNPAID || (record & UNPAID != 0 && record != ATTESTER_SLASHED)) {
                revert NotAnAttester(batchId, verifier);
            }
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











    /// @notice Whether the receipt at `receiptIndex` of the batch was overturned.
    function isOverturned(uint256 batchId, uint32 receiptIndex) external view returns (bool) {
        return _overturned[batchId][receiptIndex];
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

    /// @notice What the batch's selections are drawn from: its commit block, the node's sampling rate P
    ///         (bps), the verifiers V registered at the commit, and the seed (zero until anchored).
    function assignmentOf(uint256 batchId) external view returns (Assignment memory assignment, bytes32 seed) {
        return (_assignments[batchId], _seeds[batchId]);
    }

    /// @notice Whether leaf `leaf` of the batch is in `verifier`'s selection (needs the seed anchored
    ///         unless every leaf is assigned).
    function isAssigned(uint256 batchId, address verifier, uint256 leaf) external view returns (bool) {
        Assignment memory assignment = _assignments[batchId];
        uint256 count = _batches[batchId].count;
        if (leaf >= count) return false;
        (, bool all) = selectionDraws(assignment.rateBps, assignment.verifiers, count, 0);
        if (all) return true;
        bytes32 seed = _seeds[batchId];
        if (seed == 0) revert SeedNotYetAvailable(batchId, assignment.commitBlock);
        (uint256 draws,) = selectionDraws(
            assignment.rateBps, assignment.verifiers, count, uint256(keccak256(abi.encode(seed, verifier, batchId, type(uint256).max)))
        );
        for (uint256 k = 0; k < draws; k++) {
            if (uint256(keccak256(abi.encode(seed, verifier, batchId, k))) % count == leaf) return true;
        }
        return false;
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
        return ReceiptMerkle.batchRootFrom(_receiptDigest(receipt), receiptIndex, batch.count, proof) == batch.root;
    }

    /// @notice EIP-712 digest of a receipt: the message the node signs and the leaf of the batch tree.
    function receiptDigest(Receipt calldata receipt) external view returns (bytes32) {
        return _receiptDigest(receipt);
    }

    /// @notice Semantic version of this contract's interface.
    function version() external pure returns (string memory) {
        return "5.0.0";
    }
}
