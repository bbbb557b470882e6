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
        challengeId = _openChallenge(batchId, _provenLeaf(batchId, receipt, receiptIndex, proof), receipt.client, receipt.fee, receiptIndex, ChallengeKind.Execution);
        if (address(disputeGame) != address(0)) {
            address node = nodes.operatorById(NodeRegistry.Role.Inference, _batches[batchId].nodeId);
            disputeGame.open(challengeId, node, msg.sender, receipt.modelId, receipt.inputHash, receipt.outputHash);
        }
    }

    /// @notice Challenges the data behind receipt `receiptIndex`: the batch's node must `publishData`
    ///         within `dataResponseTime` — the client's signed request that the receipt answers and
    ///         the input bytes — or the receipt is overturned. Locks `dataChallengeBond`, paid to the
    ///         node if it publishes. Refused once the node's answer could land after the window
    ///         (`DataChallengeTooLate`).
    function challengeData(uint256 batchId, Receipt calldata receipt, uint32 receiptIndex, bytes32[] calldata proof)
        external delegated
        nonReentrant
        returns (uint256 challengeId)
    {
        challengeId = _openChallenge(batchId, _provenLeaf(batchId, receipt, receiptIndex, proof), receipt.client, receipt.fee, receiptIndex, ChallengeKind.Data);
    }

    /// @notice Challenges the availability of leaf `receiptIndex` of a batch whose data the node does
    ///         not serve: nothing but the position is named. The node must `publishReceipt` within
    ///         `dataResponseTime` — the leaf, its inclusion proof, the client's signed request and the
    ///         input — or the receipt is overturned (the node slashed `receiptSlash`; its client, not
    ///         known on-chain, claims its refund with `challengeInclusion`). Locks `dataChallengeBond`.
    function challengeAvailability(uint256 batchId, uint32 receiptIndex) external delegated nonReentrant returns (uint256 challengeId) {
        uint32 count = _batches[batchId].count;
        if (count != 0 && receiptIndex >= count) revert InvalidInclusionProof(batchId, receiptIndex);
        challengeId = _openChallenge(batchId, bytes32(0), address(0), 0, receiptIndex, ChallengeKind.Availability);
    }

    /// @notice The node's answer to an availability challenge: the leaf at the challenged position and
    ///         its proof against the committed root (`ReceiptPublished`), then everything `publishData`
    ///         takes and checks.
    function publishReceipt(
        uint256 challengeId,
        Receipt calldata receipt,
        bytes32[] calldata proof,
        InferenceRequest calldata request,
        bytes calldata clientSignature,
        bytes[] calldata inputs
    ) external delegated nonReentrant {
        Challenge storage entry = _challenges[challengeId];
        if (entry.kind != ChallengeKind.Availability) revert NotDataChallenge(challengeId);
        uint256 batchId = entry.batchId;
        bytes32 digest = _provenLeaf(batchId, receipt, entry.receiptIndex, proof);
        entry.receiptDigest = digest;
        entry.client = receipt.client;
        entry.fee = receipt.fee;
        emit ReceiptPublished(challengeId, batchId, entry.receiptIndex, receipt, proof);
        _acceptData(challengeId, entry, receipt, request, clientSignature, inputs);
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
        if (_receiptDigest(receipt) != entry.receiptDigest) revert ReceiptMismatch(challengeId);
        _acceptData(challengeId, entry, receipt, request, clientSignature, inputs);
    }

    /// @dev Checks and records a node's published data (request, signature, input bytes) for an open
    ///      data or availability challenge within its response time; the node gets the bond.
    function _acceptData(
        uint256 challengeId,
        Challenge storage entry,
        Receipt calldata receipt,
        InferenceRequest calldata request,
        bytes calldata clientSignature,
        bytes[] calldata inputs
    ) private {
        if (entry.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
        uint64 deadline = uint64(entry.openedAt) + dataResponseTime;
        if (block.timestamp >= deadline) revert ResponseDeadlinePassed(challengeId, deadline);
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
        ChallengeKind kind = entry.kind;
        if (kind != ChallengeKind.Execution) {
            uint64 deadline = uint64(entry.openedAt) + dataResponseTime;
            // INVARIANT: the node has its full response time.
            if (block.timestamp < deadline) revert DisputeStillRunning(challengeId, deadline);
            // An inclusion challenge freezes no batch.
            if (kind == ChallengeKind.Inclusion) return _expireInclusion(challengeId, entry);
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
    ///         `bitmap` and `tags` are the attestation it sent (checked against the one recorded). Once
    ///         per verifier per batch; the caller gets `bountyBps` of the slash, the rest is burned.
    function slashAttester(uint256 batchId, uint32 receiptIndex, address verifier, uint256[] calldata bitmap, bytes calldata tags)
        external delegated
        nonReentrant
        returns (uint256 slashed)
    {
        if (!_overturned[batchId][receiptIndex]) revert NotOverturned(batchId, receiptIndex);
        _checkAttested(batchId, receiptIndex, verifier, bitmap, tags);
        slashed = _slashAttester(batchId, receiptIndex, verifier);
    }

    /// @notice Refutes an attestation (`attestation`: its verifier, and the bitmap and tags it sent) by the outputs of
    ///         one receipt it set: `receipt` is leaf `receiptIndex` of the batch (`proof`), `outputs`
    ///         (the output tensors' canonical bytes) hash to its `outputHash`, and the tag the verifier
    ///         gave for it is not their execution tag (`_executionTag`) — it attested a receipt it had not executed.
    ///         The verifier is slashed `attesterSlash` as for an overturned receipt (once per batch) and
    ///         is not paid for the batch; the caller (the node or a client, who know the outputs) gets
    ///         `bountyBps` of the slash.
    function refuteAttestation(
        uint256 batchId,
        AttestationRef calldata attestation,
        Receipt calldata receipt,
        uint32 receiptIndex,
        bytes32[] calldata proof,
        bytes[] calldata outputs
    ) external delegated nonReentrant returns (uint256 slashed) {
        address verifier = attestation.verifier;
        _checkAttested(batchId, receiptIndex, verifier, attestation.bitmap, attestation.tags);
        _provenLeaf(batchId, receipt, receiptIndex, proof);
        bytes8 claimed = _tagOf(attestation.bitmap, attestation.tags, receiptIndex);
        _checkTagWrong(batchId, verifier, receiptIndex, receipt.outputHash, claimed, outputs);
        slashed = _slashAttester(batchId, receiptIndex, verifier);
        emit ExecutionTagRefuted(batchId, verifier, receiptIndex, msg.sender);
    }

    /// @dev The tag an attestation gave receipt `receiptIndex` (which its bitmap sets).
    function _tagOf(uint256[] calldata bitmap, bytes calldata tags, uint32 receiptIndex) private pure returns (bytes8) {
        uint256 at = Bitmap.rank(bitmap, receiptIndex) * TAG_BYTES;
        return bytes8(tags[at:at + TAG_BYTES]);
    }

    /// @dev Reverts unless `outputs` are the receipt's (they hash to `committed`) and `claimed` is not
    ///      their execution tag for `verifier`.
    function _checkTagWrong(
        uint256 batchId,
        address verifier,
        uint32 receiptIndex,
        bytes32 committed,
        bytes8 claimed,
        bytes[] calldata outputs
    ) private view {
        bytes32 outputHash = inputHasher.tensorsHash(outputs);
        if (outputHash != committed) revert DataMismatch(committed, outputHash);
        // INVARIANT: an attestation whose tag is right for the receipt's outputs cannot be refuted.
        if (claimed == _executionTag(keccak256(abi.encode(outputs)), verifier, batchId, receiptIndex)) {
            revert TagCorrect(batchId, verifier, receiptIndex);
        }
    }

    /// @dev The execution tag of a receipt for `verifier`: the first `TAG_BYTES` of
    ///         keccak256(abi.encode(secret, verifier, batchId, receiptIndex)), where `secret` is
    ///         keccak256(abi.encode(outputs)) of the receipt's output tensors' canonical bytes — not
    ///         derivable from the committed `outputHash` (a sha256 tree of the same bytes).
    function _executionTag(bytes32 secret, address verifier, uint256 batchId, uint32 receiptIndex) private pure returns (bytes8) {
        return bytes8(keccak256(abi.encode(secret, verifier, batchId, receiptIndex)));
    }

    /// @dev Reverts unless `verifier`'s recorded, unslashed attestation of the batch is (`bitmap`,
    ///      `tags`) and sets `receiptIndex`.
    function _checkAttested(uint256 batchId, uint32 receiptIndex, address verifier, uint256[] calldata bitmap, bytes calldata tags)
        private
        view
    {
        bytes32 record = _attestations[batchId][verifier];
        // INVARIANT: an attestation, paid or not, is a staked claim on each receipt it sets (a slashed
        // record never equals a key: its lowest bit is clear).
        if ((record | UNPAID) != (_attestationKey(bitmap, tags) | UNPAID) || !Bitmap.isSet(bitmap, receiptIndex)) {
            revert NotAttested(batchId, verifier, receiptIndex);
        }
    }

    /// @dev Slashes an attester once for the batch: `bountyBps` to the caller, the rest burned.
    function _slashAttester(uint256 batchId, uint32 receiptIndex, address verifier) private returns (uint256 slashed) {
        _attestations[batchId][verifier] = _attestations[batchId][verifier] & UNPAID != 0 ? ATTESTER_SLASHED_UNPAID : ATTESTER_SLASHED;
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
            fullSlashes[batch.nodeId] += 1;
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

    /// @notice A receipt's client, holding the node's signature over it, asks the node to prove the
    ///         receipt committed in one of its batches: what protects a client whose node serves no
    ///         proofs, and how a client whose receipt was overturned by an availability challenge
    ///         (which named no client) gets its refund. The node must `proveInclusion` within
    ///         `dataResponseTime`, or it is slashed `receiptSlash` and the client refunded the fee.
    ///         Locks `dataChallengeBond`: paid to the node if the receipt is committed and standing,
    ///         returned if it was overturned (the client refunded then).
    function challengeInclusion(Receipt calldata receipt, bytes calldata nodeSignature)
        external
        delegated
        nonReentrant
        returns (uint256 challengeId)
    {
        // INVARIANT: only the receipt's client asks, once per receipt refunded.
        if (msg.sender != receipt.client) revert NotReceiptClient(receipt.client, msg.sender);
        bytes32 digest = _receiptDigest(receipt);
        address signer = ECDSA.recover(digest, nodeSignature);
        // INVARIANT: only a receipt the node signed binds it.
        if (signer != receipt.node || nodes.getOperator(signer, NodeRegistry.Role.Inference).id == 0) {
            revert BadNodeSignature(signer, receipt.node);
        }
        if (_receiptSettled[digest]) revert ReceiptSettledAlready(digest);
        // INVARIANT: one open inclusion challenge per receipt.
        if (_inclusionOpen[digest] != 0) revert InclusionChallengeOpen(digest, _inclusionOpen[digest]);
        challengeId = ++challengeCount;
        _inclusionOpen[digest] = challengeId;
        _challenges[challengeId] = Challenge({
            batchId: 0,
            receiptIndex: 0,
            openedAt: uint40(block.timestamp),
            status: ChallengeStatus.Open,
            kind: ChallengeKind.Inclusion,
            challenger: msg.sender,
            bond: dataChallengeBond,
            receiptDigest: digest,
            client: receipt.client,
            fee: receipt.fee,
            node: signer
        });
        if (dataChallengeBond > 0) token.safeTransferFrom(msg.sender, address(this), dataChallengeBond);
        emit InclusionChallenged(challengeId, signer, msg.sender, digest, receipt.fee, uint64(block.timestamp) + dataResponseTime);
    }

    /// @notice Answers an inclusion challenge (anyone may: the proof speaks): the challenged receipt is
    ///         leaf `receiptIndex` of `batchId`, committed by the challenged node. A standing receipt
    ///         closes the challenge (the bond to the node); an overturned one refunds its client now.
    function proveInclusion(uint256 challengeId, uint256 batchId, uint32 receiptIndex, bytes32[] calldata proof)
        external
        delegated
        nonReentrant
    {
        Challenge storage entry = _challenges[challengeId];
        if (entry.kind != ChallengeKind.Inclusion) revert NotDataChallenge(challengeId);
        if (entry.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
        uint64 deadline = uint64(entry.openedAt) + dataResponseTime;
        if (block.timestamp >= deadline) revert ResponseDeadlinePassed(challengeId, deadline);
        BatchRecord storage batch = _batches[batchId];
        if (batch.status == BatchStatus.None) revert UnknownBatch(batchId);
        address committer = nodes.operatorById(NodeRegistry.Role.Inference, batch.nodeId);
        if (committer != entry.node) revert WrongNode(entry.node, committer);
        bytes32 digest = entry.receiptDigest;
        if (ReceiptMerkle.batchRootFrom(digest, receiptIndex, batch.count, proof) != batch.root) {
            revert InvalidInclusionProof(batchId, receiptIndex);
        }
        entry.batchId = uint64(batchId);
        entry.receiptIndex = receiptIndex;
        delete _inclusionOpen[digest];
        uint256 bond = entry.bond;
        uint256 refund;
        if (_overturned[batchId][receiptIndex]) {
            entry.status = ChallengeStatus.Upheld;
            if (!_receiptSettled[digest]) {
                _receiptSettled[digest] = true;
                refund = _restitute(entry.client, committer, entry.fee);
            }
            if (bond > 0) claimable[entry.challenger] += bond;
        } else {
            entry.status = ChallengeStatus.Rejected;
            if (bond > 0) claimable[committer] += bond;
        }
        emit InclusionProven(challengeId, batchId, receiptIndex, refund);
    }

    /// @dev An inclusion challenge the node left unanswered: slashed `receiptSlash` (what its stake
    ///      still holds: a receipt it never committed reserved nothing), the client refunded, the
    ///      challenger paid its bond and the bounty, the rest burned.
    function _expireInclusion(uint256 challengeId, Challenge storage entry) private {
        entry.status = ChallengeStatus.Upheld;
        delete _inclusionOpen[entry.receiptDigest];
        address node = entry.node;
        uint256 slashed = nodes.slash(node, NodeRegistry.Role.Inference, receiptSlash, address(this));
        fullSlashes[nodes.getOperator(node, NodeRegistry.Role.Inference).id] += 1;
        uint256 bounty = (slashed * bountyBps) / BPS;
        claimable[entry.challenger] += entry.bond + bounty;
        if (slashed > bounty) token.safeTransfer(BURN, slashed - bounty);
        uint256 refund;
        if (!_receiptSettled[entry.receiptDigest]) {
            _receiptSettled[entry.receiptDigest] = true;
            refund = _restitute(entry.client, node, entry.fee);
        }
        emit InclusionExpired(challengeId, node, entry.client, refund, slashed, bounty);
    }

    /// @dev The leaf digest of `receipt`, reverting unless it is leaf `receiptIndex` of the batch.
    function _provenLeaf(uint256 batchId, Receipt calldata receipt, uint32 receiptIndex, bytes32[] calldata proof)
        private
        view
        returns (bytes32 digest)
    {
        BatchRecord storage batch = _batches[batchId];
        if (batch.status == BatchStatus.None) revert UnknownBatch(batchId);
        digest = _receiptDigest(receipt);
        // INVARIANT: only a receipt the node committed can be challenged.
        if (ReceiptMerkle.batchRootFrom(digest, receiptIndex, batch.count, proof) != batch.root) {
            revert InvalidInclusionProof(batchId, receiptIndex);
        }
    }

    /// @dev Opens a challenge against leaf `receiptIndex` of a batch within the window (a data or
    ///      availability challenge early enough that the node's answer lands in it). `digest` is the
    ///      proven leaf (zero for an availability challenge, which names none).
    function _openChallenge(uint256 batchId, bytes32 digest, address client, uint96 fee, uint32 receiptIndex, ChallengeKind kind)
        private
        returns (uint256 challengeId)
    {
        BatchRecord storage batch = _openable(batchId, receiptIndex, kind);
        uint96 bond = kind == ChallengeKind.Execution ? challengeBond : dataChallengeBond;
        challengeId = ++challengeCount;
        Challenge storage entry = _challenges[challengeId];
        entry.batchId = uint64(batchId);
        entry.receiptIndex = receiptIndex;
        entry.openedAt = uint40(block.timestamp);
        entry.status = ChallengeStatus.Open;
        entry.kind = kind;
        entry.challenger = msg.sender;
        entry.bond = bond;
        entry.receiptDigest = digest;
        _challengedBy[batchId][receiptIndex][msg.sender] = true;
        entry.client = client;
        entry.fee = fee;
        batch.status = BatchStatus.Challenged;
        batch.openChallenges += 1;
        if (bond > 0) token.safeTransferFrom(msg.sender, address(this), bond);
        emit ChallengeOpened(challengeId, batchId, receiptIndex, msg.sender, digest, bond);
        if (kind != ChallengeKind.Execution) {
            emit DataChallenged(challengeId, batchId, receiptIndex, uint64(block.timestamp) + dataResponseTime);
        }
    }

    /// @dev The batch, if leaf `receiptIndex` of it may be challenged now by a challenge of `kind`.
    function _openable(uint256 batchId, uint32 receiptIndex, ChallengeKind kind) private view returns (BatchRecord storage batch) {
        batch = _batches[batchId];
        BatchStatus status = batch.status;
        if (status == BatchStatus.None) revert UnknownBatch(batchId);
        if (status == BatchStatus.Finalized) revert BatchAlreadyFinalized(batchId);
        uint64 endsAt = uint64(batch.committedAt) + challengeWindow;
        // INVARIANT: challenges only inside the window, so a finalizable batch cannot be frozen.
        if (block.timestamp >= endsAt) revert ChallengeWindowClosed(batchId, endsAt);
        // INVARIANT: a node's data is published inside the window, where its output can still be challenged.
        if (kind != ChallengeKind.Execution && block.timestamp + dataResponseTime > endsAt) {
            revert DataChallengeTooLate(batchId, endsAt - dataResponseTime);
        }
        // INVARIANT: a receipt is overturned (and refunded) at most once.
        if (_overturned[batchId][receiptIndex]) revert AlreadyOverturned(batchId, receiptIndex);
    }
}
