// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ModelRegistry} from "../ModelRegistry.sol";
import {SettlementChallenges} from "../SettlementChallenges.sol";
import {ReceiptMerkle} from "../lib/ReceiptMerkle.sol";
import {OneStepProof} from "../onestep/OneStepProof.sol";
import {OneStepVerifier} from "../onestep/OneStepVerifier.sol";
import {TensorMerkle} from "../onestep/TensorMerkle.sol";
import {IDisputeGame} from "./IDisputeGame.sol";
import {ModelGraph} from "./ModelGraph.sol";

/// @title DisputeGame
/// @notice The bisection game that settles a challenge against a receipt (docs/disputes.md). The
///         node (defender) commits the trace of its run; level 1 bisects the trace tree down to the
///         first op output the challenger disputes (everything left of it agreed); level 2 bisects
///         that output's chunk tree down to one 64-byte chunk; the node reveals the chunk and the
///         challenger points at one value, which this contract recomputes from Merkle-opened inputs
///         and weights (OneStep, OneStepProof) and rules. Each side has a chess clock; every turn
///         grants at least `minMoveTime`; running out loses. Settlement applies the outcome.
contract DisputeGame is IDisputeGame {
    enum Phase {
        None,
        AwaitTrace,
        Reveal,
        Choose,
        SelectOp,
        AwaitChunk,
        AwaitStep,
        AwaitSum,
        SumReveal,
        SumChoose,
        AwaitTerm,
        Resolved
    }

    enum Reason {
        None,
        Timeout,
        OneStep,
        Padding,
        AgreedInput,
        Conceded
    }

    /// @notice A game: parties and clocks, the claim, the trace and the node currently disputed.
    struct Game {
        address node;
        uint40 turnStartedAt;
        Phase phase;
        uint8 level;
        bool nodeLost;
        Reason reason;
        address challenger;
        uint32 nodeClock;
        uint32 challengerClock;
        bytes32 modelId;
        bytes32 inputHash;
        bytes32 outputHash;
        bytes32 traceRoot;
        bytes32 weightsRoot;
        bytes32 opsRoot;
        bytes32 current;
        bytes32 left;
        bytes32 right;
        bytes32 opHash;
        uint32 index;
        uint8 height;
        uint32 inputCount;
        uint32 leafCount;
        uint32 constCount;
        uint32 opLeaf;
        uint32 outElements;
        uint8 outWidth;
        uint32 outIndex;
        uint32 sumLo;
        uint32 sumHi;
        int64 claimed;
        int128 accLo;
        int128 accHi;
        int128 accMid;
    }

    /// @notice An op with the values it reads for one evaluation, opened against the trace and weights.
    struct OpReads {
        ModelGraph.Op op;
        bytes32[][] inputProofs;
        OneStepVerifier.Reads reads;
    }

    /// @notice The challenger's last move: the op, the revealed chunk, the value it disputes and
    ///         every value the op reads, opened against the trace and the weights.
    struct StepProof {
        ModelGraph.Op op;
        bytes chunk;
        uint8 element;
        bytes32[][] inputProofs;
        OneStepVerifier.Reads reads;
    }

    /// @notice The node's trace commitment: root, graph header, and the proven input and output leaves.
    struct TraceClaim {
        bytes32 root;
        ModelGraph.Header header;
        bytes32[] inputRoots;
        bytes32[][] inputProofs;
        bytes32[] outputRoots;
        bytes32[][] outputProofs;
    }

    /// @notice Turns in the longest game: the trace, ≤32 levels of the trace tree and ≤28 of a chunk
    ///         tree (two moves each), the op selection, the chunk, then either the one step or a dot
    ///         product's bisection (dispute, accumulator, ≤32 rounds of two moves, the term).
    uint256 public constant MAX_TURNS = 1 + 2 * 32 + 1 + 2 * 28 + 1 + 1 + 1 + 2 * 32 + 1;
    uint16 public constant BPS = 10_000;

    /// @dev Settlement, typed by the module whose functions (`resolveChallenge`) it forwards.
    SettlementChallenges public immutable settlement;
    ModelRegistry public immutable models;
    OneStepVerifier public immutable oneStep;
    /// @notice Seconds each side may spend in total.
    uint32 public immutable clock;
    /// @notice Seconds every turn grants at least, whatever is left on the mover's clock.
    uint32 public immutable minMoveTime;
    uint96 public immutable override slashAmount;
    uint16 public immutable override bountyBps;

    mapping(uint256 gameId => Game) private _games;

    event GameOpened(uint256 indexed gameId, address indexed node, address indexed challenger, bytes32 modelId);
    event TracePosted(uint256 indexed gameId, bytes32 traceRoot);
    event Revealed(uint256 indexed gameId, uint8 level, uint8 height, uint32 index, bytes32 left, bytes32 right);
    event Chosen(uint256 indexed gameId, uint8 level, bool right);
    event OpSelected(uint256 indexed gameId, uint32 opLeaf, uint32 outElements);
    event ChunkRevealed(uint256 indexed gameId, uint32 chunk, bytes data);
    event SumDisputed(uint256 indexed gameId, uint32 outIndex, uint32 terms);
    event SumPosted(uint256 indexed gameId, uint32 term, int256 acc);
    event SumChosen(uint256 indexed gameId, bool agree);
    event GameResolved(uint256 indexed gameId, bool nodeLost, Reason reason);

    error NotSettlement(address caller);
    error GameExists(uint256 gameId);
    error UnknownGame(uint256 gameId);
    error GameOver(uint256 gameId);
    error WrongPhase(uint256 gameId, Phase expected, Phase found);
    error NotYourTurn(uint256 gameId, address expected, address found);
    error ClockExpired(uint256 gameId, uint256 deadline);
    error ClockRunning(uint256 gameId, uint256 deadline);
    error UnknownGraph(bytes32 modelId, bytes32 expected, bytes32 found);
    error ClaimMismatch(bytes32 expected, bytes32 found);
    error BadTraceProof(bool output, uint256 position);
    error BadReveal(bytes32 expected, bytes32 found);
    error BadOp(uint32 opLeaf);
    error BadChunk(bytes32 expected, bytes32 found);
    error BadElement(uint256 element, uint256 perChunk);
    error BadInput(uint256 input);
    error DurationTooLong(uint256 longestGame, uint256 maxDisputeDuration);
    error InvalidShare(uint256 bps);
    error NotASum(uint8 opCode);
    error SumMismatch(int256 claimed, int256 finished);
    error AccumulatorRange(int256 acc);

    /// @param clock_ seconds each side may spend over the whole game.
    /// @param minMoveTime_ seconds every turn grants at least.
    /// @param slashAmount_ stake taken from a node that loses.
    /// @param bountyBps_ share of the slashed stake paid to a winning challenger (the rest is burned).
    constructor(
        SettlementChallenges settlement_,
        ModelRegistry models_,
        OneStepVerifier oneStep_,
        uint32 clock_, uint32 minMoveTime_, uint96 slashAmount_, uint16 bountyBps_) {
        uint256 longest = 2 * uint256(clock_) + MAX_TURNS * uint256(minMoveTime_);
        // INVARIANT: every game is decided before its challenge can expire neutrally.
        if (longest > settlement_.maxDisputeDuration()) revert DurationTooLong(longest, settlement_.maxDisputeDuration());
        if (bountyBps_ > BPS) revert InvalidShare(bountyBps_);
        settlement = settlement_;
        models = models_;
        oneStep = oneStep_;
        clock = clock_;
        minMoveTime = minMoveTime_;
        slashAmount = slashAmount_;
        bountyBps = bountyBps_;
    }

    /// @inheritdoc IDisputeGame
    function open(uint256 gameId, address node, address challenger, bytes32 modelId, bytes32 inputHash, bytes32 outputHash)
        external
    {
        // INVARIANT: only Settlement opens games, once per challenge, after taking the bond.
        if (msg.sender != address(settlement)) revert NotSettlement(msg.sender);
        Game storage g = _games[gameId];
        if (g.phase != Phase.None) revert GameExists(gameId);
        g.node = node;
        g.challenger = challenger;
        g.turnStartedAt = uint40(block.timestamp);
        g.phase = Phase.AwaitTrace;
        g.nodeClock = clock;
        g.challengerClock = clock;
        g.modelId = modelId;
        g.inputHash = inputHash;
        g.outputHash = outputHash;
        emit GameOpened(gameId, node, challenger, modelId);
    }

    /// @notice The node commits the trace of its run: its root, the graph header registered for the
    ///         model, and the input and output leaves, proven in the trace and hashing to the
    ///         receipt's `inputHash` and `outputHash`.
    function postTrace(uint256 gameId, TraceClaim calldata t) external {
        Game storage g = _move(gameId, Phase.AwaitTrace);
        ModelGraph.Header calldata header = t.header;
        g.weightsRoot = _checkTrace(g, t);
        g.traceRoot = t.root;
        g.opsRoot = header.opsRoot;
        g.inputCount = header.inputCount;
        g.leafCount = header.leafCount;
        g.constCount = header.constCount;
        g.level = 1;
        g.current = t.root;
        g.index = 0;
        g.height = uint8(TensorMerkle.depth(header.leafCount));
        emit TracePosted(gameId, t.root);
        _enter(gameId, g);
    }

    /// @notice The node reveals the two children of the disputed tree node.
    function reveal(uint256 gameId, bytes32 left, bytes32 right) external {
        Game storage g = _move(gameId, Phase.Reveal);
        bytes32 parent = TensorMerkle.nodeHash(left, right);
        // INVARIANT: the children are those of the node under dispute.
        if (parent != g.current) revert BadReveal(g.current, parent);
        g.left = left;
        g.right = right;
        g.phase = Phase.Choose;
        emit Revealed(gameId, g.level, g.height, g.index, left, right);
    }

    /// @notice The challenger disputes one child: the left one, or the right one (agreeing with the
    ///         left). A child made only of padding is ruled on at once: it must be the padding hash.
    function choose(uint256 gameId, bool right) external {
        Game storage g = _move(gameId, Phase.Choose);
        uint256 height = g.height - 1;
        uint256 index = 2 * uint256(g.index) + (right ? 1 : 0);
        bytes32 child = right ? g.right : g.left;
        emit Chosen(gameId, g.level, right);
        uint256 count = g.level == 1 ? g.leafCount : _chunks(g.outElements, g.outWidth);
        if ((index << height) >= count) {
            // INVARIANT: padding has one correct value; whoever is wrong about it loses.
            bool nodeLost = child != TensorMerkle.paddingHash(height);
            return _resolve(gameId, g, nodeLost, Reason.Padding);
        }
        g.current = child;
        g.index = uint32(index);
        g.height = uint8(height);
        _enter(gameId, g);
    }

    /// @notice The challenger names the op whose output it disputes (the trace leaf it reached),
    ///         with its description proven against the registered graph; level 2 begins.
    function selectOp(uint256 gameId, ModelGraph.Op calldata op, bytes32[] calldata proof) external {
        Game storage g = _move(gameId, Phase.SelectOp);
        uint32 leaf = g.index;
        bytes32 opHash = ModelGraph.hashOp(op);
        // INVARIANT: the op is the registered description of the op that wrote this leaf.
        if (ReceiptMerkle.rootFrom(opHash, leaf - g.inputCount, g.leafCount - g.inputCount, proof) != g.opsRoot) revert BadOp(leaf);
        g.opHash = opHash;
        g.opLeaf = leaf;
        g.outElements = op.outElements;
        g.outWidth = op.outWidth;
        g.level = 2;
        g.index = 0;
        g.height = uint8(TensorMerkle.depth(_chunks(op.outElements, op.outWidth)));
        emit OpSelected(gameId, leaf, op.outElements);
        _enter(gameId, g);
    }

    /// @notice The node reveals the disputed chunk of the op's output.
    function revealChunk(uint256 gameId, bytes calldata chunk) external {
        Game storage g = _move(gameId, Phase.AwaitChunk);
        bytes32 found = TensorMerkle.leafHash(chunk);
        if (found != g.current) revert BadChunk(g.current, found);
        g.phase = Phase.AwaitStep;
        emit ChunkRevealed(gameId, g.index, chunk);
    }

    /// @notice The one step: the challenger points at one value of the revealed chunk (or at its
    ///         padding) and supplies everything the op reads to compute it; the contract recomputes
    ///         the value under docs/semantics.md and rules.
    function prove(uint256 gameId, StepProof calldata s) external {
        Game storage g = _move(gameId, Phase.AwaitStep);
        if (ModelGraph.hashOp(s.op) != g.opHash) revert BadOp(g.opLeaf);
        bytes32 found = TensorMerkle.leafHash(s.chunk);
        if (found != g.current) revert BadChunk(g.current, found);
        uint256 width = g.outWidth;
        uint256 perChunk = TensorMerkle.CHUNK_BYTES / width;
        if (s.element >= perChunk) revert BadElement(s.element, perChunk);
        uint256 outIndex = uint256(g.index) * perChunk + s.element;
        if (outIndex >= g.outElements) {
            // INVARIANT: bytes past the tensor's end are zero in the canonical encoding.
            uint256 used = (uint256(g.outElements) - uint256(g.index) * perChunk) * width;
            bool dirty;
            for (uint256 b = used; b < TensorMerkle.CHUNK_BYTES; b++) {
                if (s.chunk[b] != 0) dirty = true;
            }
            return _resolve(gameId, g, dirty, Reason.Padding);
        }
        _checkInputs(g, s.op, s.reads.inputs, s.inputProofs);
        int256 value = oneStep.evaluate(s.op.opCode, s.op.params, outIndex, s.reads);
        int256 claimed = TensorMerkle.elementAt(s.chunk, uint256(s.element) * width, width);
        // INVARIANT: the node loses exactly when its committed value is not what the op computes.
        _resolve(gameId, g, value != claimed, Reason.OneStep);
    }

    /// @notice Instead of a one-step over a whole dot product (Conv, Dense, MatMulAct), the challenger
    ///         disputes value `element` of the revealed chunk term by term: the node must post the
    ///         value's accumulator, then the two bisect over the K partial sums.
    function disputeSum(uint256 gameId, ModelGraph.Op calldata op, bytes calldata chunk, uint8 element) external {
        Game storage g = _move(gameId, Phase.AwaitStep);
        if (ModelGraph.hashOp(op) != g.opHash) revert BadOp(g.opLeaf);
        uint256 terms = oneStep.termCount(op.opCode, op.params);
        if (terms == 0) revert NotASum(op.opCode);
        bytes32 found = TensorMerkle.leafHash(chunk);
        if (found != g.current) revert BadChunk(g.current, found);
        uint256 width = g.outWidth;
        uint256 perChunk = TensorMerkle.CHUNK_BYTES / width;
        uint256 outIndex = uint256(g.index) * perChunk + element;
        if (element >= perChunk || outIndex >= g.outElements) revert BadElement(element, perChunk);
        g.outIndex = uint32(outIndex);
        g.claimed = int64(TensorMerkle.elementAt(chunk, uint256(element) * width, width));
        g.sumLo = 0;
        g.sumHi = uint32(terms);
        g.phase = Phase.AwaitSum;
        emit SumDisputed(gameId, uint32(outIndex), uint32(terms));
    }

    /// @notice The node posts the disputed value's full accumulator acc_K; the contract checks that
    ///         requantizing it gives the value the node committed.
    function postSum(uint256 gameId, int256 acc, OpReads calldata r) external {
        Game storage g = _move(gameId, Phase.AwaitSum);
        if (ModelGraph.hashOp(r.op) != g.opHash) revert BadOp(g.opLeaf);
        _checkInputs(g, r.op, r.reads.inputs, r.inputProofs);
        int256 finished = oneStep.evaluateFinish(r.op.opCode, r.op.params, g.outIndex, acc, r.reads);
        // INVARIANT: the accumulator the node defends is one that yields its committed value.
        if (finished != g.claimed) revert SumMismatch(g.claimed, finished);
        g.accHi = _acc(acc);
        emit SumPosted(gameId, g.sumHi, acc);
        g.phase = g.sumHi - g.sumLo == 1 ? Phase.AwaitTerm : Phase.SumReveal;
    }

    /// @notice The node reveals acc_mid, mid halfway between the agreed and the disputed partial sum.
    function revealSum(uint256 gameId, int256 acc) external {
        Game storage g = _move(gameId, Phase.SumReveal);
        g.accMid = _acc(acc);
        g.phase = Phase.SumChoose;
        emit SumPosted(gameId, uint32((uint256(g.sumLo) + g.sumHi) / 2), acc);
    }

    /// @notice The challenger agrees with acc_mid (the dispute moves right of it) or not (left).
    function chooseSum(uint256 gameId, bool agree) external {
        Game storage g = _move(gameId, Phase.SumChoose);
        uint32 mid = uint32((uint256(g.sumLo) + g.sumHi) / 2);
        if (agree) {
            g.sumLo = mid;
            g.accLo = g.accMid;
        } else {
            g.sumHi = mid;
            g.accHi = g.accMid;
        }
        emit SumChosen(gameId, agree);
        g.phase = g.sumHi - g.sumLo == 1 ? Phase.AwaitTerm : Phase.SumReveal;
    }

    /// @notice One term: the challenger opens term `sumLo`'s reads; the contract adds it to the agreed
    ///         acc_lo (the bias for lo = 0) and rules against the node when that is not acc_{lo+1}.
    function proveTerm(uint256 gameId, OpReads calldata r) external {
        Game storage g = _move(gameId, Phase.AwaitTerm);
        if (ModelGraph.hashOp(r.op) != g.opHash) revert BadOp(g.opLeaf);
        _checkInputs(g, r.op, r.reads.inputs, r.inputProofs);
        int256 acc = oneStep.evaluateTerm(r.op.opCode, r.op.params, g.outIndex, g.sumLo, g.accLo, r.reads);
        // INVARIANT: the node loses exactly when its partial sum is not the agreed one plus the term.
        _resolve(gameId, g, acc != g.accHi, Reason.OneStep);
    }

    /// @notice Ends a game whose mover let its clock run out: the mover loses. Anyone may call it.
    function timeout(uint256 gameId) external {
        Game storage g = _games[gameId];
        Phase phase = g.phase;
        if (phase == Phase.None) revert UnknownGame(gameId);
        if (phase == Phase.Resolved) revert GameOver(gameId);
        bool nodeToMove = _nodeMoves(phase);
        uint256 deadline = _deadline(g, nodeToMove);
        // INVARIANT: a clock only runs out after its full time (and at least minMoveTime this turn).
        if (block.timestamp <= deadline) revert ClockRunning(gameId, deadline);
        _resolve(gameId, g, nodeToMove, Reason.Timeout);
    }

    // ─── views ─────────────────────────────────────────────────────────────────────────────────

    /// @notice The node concedes a receipt that was one of its decoys (forced errors): `secret` is
    ///         the preimage of the claimed output hash, which no real output hashes to. Settlement
    ///         pays the challenger `decoyReward` from the node's stake instead of the full slash.
    function concede(uint256 gameId, bytes32 secret) external {
        Game storage g = _games[gameId];
        if (g.node == address(0)) revert UnknownGame(gameId);
        if (g.phase == Phase.Resolved) revert GameOver(gameId);
        if (msg.sender != g.node) revert NotYourTurn(gameId, g.node, msg.sender);
        bytes32 claimed = keccak256(abi.encode(secret));
        if (claimed != g.outputHash) revert ClaimMismatch(g.outputHash, claimed);
        _resolve(gameId, g, true, Reason.Conceded);
    }

    function getGame(uint256 gameId) external view returns (Game memory) {
        return _games[gameId];
    }

    /// @notice Who must move next (zero once resolved) and until when.
    function turnOf(uint256 gameId) external view returns (address mover, uint256 deadline) {
        Game storage g = _games[gameId];
        if (g.phase == Phase.None || g.phase == Phase.Resolved) return (address(0), 0);
        bool nodeToMove = _nodeMoves(g.phase);
        return (nodeToMove ? g.node : g.challenger, _deadline(g, nodeToMove));
    }

    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    // ─── internals ─────────────────────────────────────────────────────────────────────────────

    /// @dev Checks phase, mover and clock, and charges the mover the time it took.
    function _move(uint256 gameId, Phase expected) private returns (Game storage g) {
        g = _games[gameId];
        Phase phase = g.phase;
        if (phase == Phase.None) revert UnknownGame(gameId);
        // INVARIANT: nothing moves after the game is decided.
        if (phase == Phase.Resolved) revert GameOver(gameId);
        if (phase != expected) revert WrongPhase(gameId, expected, phase);
        bool nodeToMove = _nodeMoves(phase);
        address mover = nodeToMove ? g.node : g.challenger;
        if (msg.sender != mover) revert NotYourTurn(gameId, mover, msg.sender);
        uint256 deadline = _deadline(g, nodeToMove);
        // INVARIANT: a move after the mover's clock ran out is refused (the other side may claim it).
        if (block.timestamp > deadline) revert ClockExpired(gameId, deadline);
        uint32 left = uint32(deadline - block.timestamp);
        if (nodeToMove) g.nodeClock = left;
        else g.challengerClock = left;
        g.turnStartedAt = uint40(block.timestamp);
    }

    /// @dev Enters the node `g.current` at `g.height`: an inner node needs the node's reveal; a trace
    ///      leaf is an input (agreed, so the challenger loses) or an op output (the challenger selects
    ///      the op); a chunk needs the node's reveal of its bytes.
    function _enter(uint256 gameId, Game storage g) private {
        if (g.height > 0) {
            g.phase = Phase.Reveal;
        } else if (g.level == 1) {
            // INVARIANT: input leaves were proven against the receipt's inputHash; they are not disputable.
            if (g.index < g.inputCount) return _resolve(gameId, g, false, Reason.AgreedInput);
            g.phase = Phase.SelectOp;
        } else {
            g.phase = Phase.AwaitChunk;
        }
    }

    /// @dev Checks a trace claim against the registered graph and the receipt; returns the weights root.
    function _checkTrace(Game storage g, TraceClaim calldata t) private view returns (bytes32) {
        ModelRegistry.Model memory model = models.getModel(g.modelId);
        bytes32 graph = ModelGraph.hashHeader(t.header);
        // INVARIANT: the graph is the one registered with the model.
        if (model.graphRoot != graph || graph == bytes32(0)) revert UnknownGraph(g.modelId, model.graphRoot, graph);
        // INVARIANT: the trace starts from the receipt's input and ends in the receipt's output.
        bytes32 inputs = TensorMerkle.merkleRoot(t.inputRoots);
        if (t.inputRoots.length != t.header.inputCount || inputs != g.inputHash) revert ClaimMismatch(g.inputHash, inputs);
        bytes32 outputs = TensorMerkle.merkleRoot(t.outputRoots);
        if (t.outputRoots.length != t.header.outputLeaves.length || outputs != g.outputHash) revert ClaimMismatch(g.outputHash, outputs);
        if (t.inputProofs.length != t.inputRoots.length || t.outputProofs.length != t.outputRoots.length) revert BadTraceProof(false, type(uint256).max);
        uint256 leaves = t.header.leafCount;
        for (uint256 i = 0; i < t.inputRoots.length; i++) {
            if (TensorMerkle.rootFromLeaf(t.inputRoots[i], i, leaves, t.inputProofs[i]) != t.root) revert BadTraceProof(false, i);
        }
        for (uint256 i = 0; i < t.outputRoots.length; i++) {
            uint256 leaf = t.header.outputLeaves[i];
            if (TensorMerkle.rootFromLeaf(t.outputRoots[i], leaf, leaves, t.outputProofs[i]) != t.root) revert BadTraceProof(true, i);
        }
        return model.weightsRoot;
    }

    function _checkInputs(Game storage g, ModelGraph.Op calldata op, OneStepProof.Tensor[] calldata inputs, bytes32[][] calldata proofs)
        private
        view
    {
        if (inputs.length != op.inputs.length || proofs.length != inputs.length) revert BadInput(type(uint256).max);
        for (uint256 i = 0; i < inputs.length; i++) {
            ModelGraph.InputRef calldata ref = op.inputs[i];
            OneStepProof.Tensor calldata t = inputs[i];
            if (t.elements != ref.elements || t.width != ref.width) revert BadInput(i);
            bytes32 root = ref.isConst
                ? TensorMerkle.rootFromLeaf(t.root, ref.leaf, g.constCount, proofs[i])
                : TensorMerkle.rootFromLeaf(t.root, ref.leaf, g.leafCount, proofs[i]);
            // INVARIANT: an op reads weights under weightsRoot and earlier (agreed) trace leaves only.
            bool ok = ref.isConst ? root == g.weightsRoot : (ref.leaf < g.opLeaf && root == g.traceRoot);
            if (!ok) revert BadInput(i);
        }
    }

    function _acc(int256 acc) private pure returns (int128) {
        if (acc > type(int128).max || acc < type(int128).min) revert AccumulatorRange(acc);
        return int128(acc);
    }

    function _resolve(uint256 gameId, Game storage g, bool nodeLost, Reason reason) private {
        g.phase = Phase.Resolved;
        g.nodeLost = nodeLost;
        g.reason = reason;
        emit GameResolved(gameId, nodeLost, reason);
        settlement.resolveChallenge(gameId, reason == Reason.Conceded ? 2 : nodeLost ? 1 : 0);
    }

    function _nodeMoves(Phase phase) private pure returns (bool) {
        return phase == Phase.AwaitTrace || phase == Phase.Reveal || phase == Phase.AwaitChunk || phase == Phase.AwaitSum
            || phase == Phase.SumReveal;
    }

    function _deadline(Game storage g, bool nodeToMove) private view returns (uint256) {
        uint256 left = nodeToMove ? g.nodeClock : g.challengerClock;
        return uint256(g.turnStartedAt) + (left > minMoveTime ? left : minMoveTime);
    }

    function _chunks(uint256 elements, uint256 width) private pure returns (uint256 chunks) {
        chunks = (elements * width + TensorMerkle.CHUNK_BYTES - 1) / TensorMerkle.CHUNK_BYTES;
        if (chunks == 0) chunks = 1;
    }
}
