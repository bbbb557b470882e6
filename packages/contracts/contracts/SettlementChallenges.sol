// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {NodeRegistry} from "./NodeRegistry.sol";
import {IDisputeGame} from "./dispute/IDisputeGame.sol";
import {Bitmap} from "./lib/Bitmap.sol";
import {ReceiptMerkle} from "./lib/ReceiptMerkle.sol";
import {TensorHasher} from "./lib/TensorHasher.sol";
import {InferenceRequest, Receipt, VerityTypes} from "./generated/VerityTypes.sol";
import {SettlementBase} from "./SettlementBase.sol";

/// @title SettlementChallenges
/// @notice The challenge paths of `Settlement`, run only by DELEGATECALL from it (its fallback), on
///         its storage: execution challenges and the dispute game's rulings, data challenges and the
///         node's published data, expiry, decoy reveals and proofs, attester slashing. Deployed by
///         the `Settlement` constructor with the same parameters; `Settlement`'s published ABI
///         includes these functions, so callers see one contract.
contract SettlementChallenges is SettlementBase {
    using SafeERC20 for IERC20;

    /// @dev The Settlement that deployed this module: the only context its functions run in.
    address private immutable _settlement;

    /// @notice A module function was called directly instead of through its Settlement.
    error NotDelegated(address settlement);

    constructor(IERC20 token_, NodeRegistry nodes_, TensorHasher inputHasher_, Params memory params)
        SettlementBase(token_, nodes_, inputHasher_, params)
    {
        _settlement = msg.sender;
    }

    /// @dev INVARIANT: the module's code only ever runs on Settlement's storage.
    modifier delegated() {
        if (address(this) != _settlement) revert NotDelegated(_settlement);
        _;
    }

    /// @notice Challenges the execution of receipt `receiptIndex` of a batch, proving its inclusion,
    ///         and locks `challengeBond`. The batch is frozen until every challenge against it is
    ///         closed; the dispute game rules.
    function challenge(uint256 batchId, Receipt calldata receipt, uint32 receiptIndex, bytes32[] calldata proof)
        external delegated
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
        external delegated
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
    ) external delegated nonReentrant {
        Challenge storage entry = _challenges[challengeId];
        if (entry.kind != ChallengeKind.Data || entry.status == ChallengeStatus.None) revert NotDataChallenge(challengeId);
        if (entry.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
        uint64 deadline = uint64(entry.openedAt) + dataResponseTime;
        if (block.timestamp >= deadline) revert ResponseDeadlinePassed(challengeId, deadline);
        if (_receiptDigest(receipt) != entry.receiptDigest) revert ReceiptMismatch(challengeId);
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
    function resolveChallenge(uint256 challengeId, uint8 ruling) external delegated nonReentrant {
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
    function expireChallenge(uint256 challengeId) external delegated nonReentrant {
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
        external delegated
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
    function revealDecoys(uint256 batchId, bytes32 salt, bytes32 receiptsRoot) external delegated {
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
        external delegated
        nonReentrant
        returns (uint256 slashed)
    {
        BatchRecord storage batch = _batches[batchId];
        // The salt is the revealed one: its commitment is the proof's last element, checked through the root.
        if (!batch.decoysRevealed || proof.length == 0 || proof[proof.length - 1] != keccak256(abi.encode(salt))) {
            revert DecoysNotRevealed(batchId);
        }
        (uint32 position, bytes32 secret) = decoyPosition(salt, decoy, batch.count);
        if (ReceiptMerkle.batchRootFrom(_receiptDigest(receipt), position, batch.count, proof) != batch.root) {
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
        bytes32 digest = _receiptDigest(receipt);
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
}
