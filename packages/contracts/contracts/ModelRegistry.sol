// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ModelRegistry
/// @notice Content-addressed models whose id binds their roots (docs/protocol.md, "Model id"):
///         `modelId = sha256(weightsRoot ‖ graphRoot ‖ specHash ‖ artifactHash)`, where
///         `artifactHash` is sha256 of the canonical artifact, `weightsRoot` the Merkle root that a
///         dispute opens single weights against, `graphRoot` the commitment to its ops that a dispute
///         checks one op against (contracts/dispute/ModelGraph.sol) and `specHash` the hash of its
///         input/output spec — all four derivable from the artifact. `register` computes the id from
///         the roots it is given, so a registration with wrong roots names another id and can neither
///         take nor change the record of the honest one; whoever loads a model derives the roots from
///         its artifact and refuses a record that differs.
contract ModelRegistry {
    struct Model {
        address publisher;
        uint64 registeredAt;
        bool deprecated;
        bytes32 artifactHash;
        bytes32 weightsRoot;
        bytes32 graphRoot;
        bytes32 specHash;
        string artifactURI;
    }

    mapping(bytes32 modelId => Model) private _models;
    bytes32[] private _modelIds;

    event ModelRegistered(
        bytes32 indexed modelId,
        address indexed publisher,
        bytes32 artifactHash,
        bytes32 weightsRoot,
        bytes32 graphRoot,
        bytes32 specHash,
        string artifactURI
    );
    event ModelURIUpdated(bytes32 indexed modelId, string artifactURI);
    event ModelDeprecated(bytes32 indexed modelId);

    error ZeroArtifactHash();
    error ZeroGraphRoot();
    error ModelAlreadyRegistered(bytes32 modelId);
    error UnknownModel(bytes32 modelId);
    error NotPublisher(bytes32 modelId, address expected, address found);
    error ModelIsDeprecated(bytes32 modelId);

    /// @notice The id of the model with these roots: sha256 of the 128-byte header
    ///         `weightsRoot ‖ graphRoot ‖ specHash ‖ artifactHash`.
    function modelIdOf(bytes32 artifactHash, bytes32 weightsRoot, bytes32 graphRoot, bytes32 specHash) public pure returns (bytes32) {
        return sha256(abi.encodePacked(weightsRoot, graphRoot, specHash, artifactHash));
    }

    /// @notice Registers a model under the id its roots name (`modelIdOf`). The caller becomes its publisher.
    /// @param artifactURI where the artifact can be fetched (a hub URL, ipfs://…); a hint, the bytes are checked against the id.
    /// @param artifactHash sha256 of the canonical artifact bytes.
    /// @param weightsRoot Merkle root over the artifact's constant tensors (the zero hash for a model without any).
    /// @param graphRoot keccak256 of the artifact's graph header (ModelGraph.Header).
    /// @param specHash hash of the input/output spec (names, shapes, dtypes, scales).
    /// @return modelId the id, computed here from the roots.
    function register(string calldata artifactURI, bytes32 artifactHash, bytes32 weightsRoot, bytes32 graphRoot, bytes32 specHash)
        external
        returns (bytes32 modelId)
    {
        // INVARIANT: every id commits to the bytes of an artifact.
        if (artifactHash == bytes32(0)) revert ZeroArtifactHash();
        // INVARIANT: a dispute needs the graph to check one op against.
        if (graphRoot == bytes32(0)) revert ZeroGraphRoot();
        // INVARIANT: the id is computed from the roots, never chosen by the caller: wrong roots name another id.
        modelId = modelIdOf(artifactHash, weightsRoot, graphRoot, specHash);
        // INVARIANT: a registration is permanent; nobody can replace another's record.
        if (_models[modelId].publisher != address(0)) revert ModelAlreadyRegistered(modelId);
        _models[modelId] = Model({
            publisher: msg.sender,
            registeredAt: uint64(block.timestamp),
            deprecated: false,
            artifactHash: artifactHash,
            weightsRoot: weightsRoot,
            graphRoot: graphRoot,
            specHash: specHash,
            artifactURI: artifactURI
        });
        _modelIds.push(modelId);
        emit ModelRegistered(modelId, msg.sender, artifactHash, weightsRoot, graphRoot, specHash, artifactURI);
    }

    /// @notice Points the model at a new artifact location. The content (and so the id) is unchanged.
    function setArtifactURI(bytes32 modelId, string calldata artifactURI) external {
        _onlyPublisher(modelId);
        _models[modelId].artifactURI = artifactURI;
        emit ModelURIUpdated(modelId, artifactURI);
    }

    /// @notice Marks a model deprecated: nodes stop accepting new requests for it. Irreversible.
    function deprecate(bytes32 modelId) external {
        _onlyPublisher(modelId);
        // INVARIANT: deprecation happens once.
        if (_models[modelId].deprecated) revert ModelIsDeprecated(modelId);
        _models[modelId].deprecated = true;
        emit ModelDeprecated(modelId);
    }

    /// @notice The model's record; reverts for an unknown id.
    function getModel(bytes32 modelId) external view returns (Model memory) {
        Model memory model = _models[modelId];
        if (model.publisher == address(0)) revert UnknownModel(modelId);
        return model;
    }

    /// @notice Whether `modelId` is registered and not deprecated.
    function isActive(bytes32 modelId) external view returns (bool) {
        Model storage model = _models[modelId];
        return model.publisher != address(0) && !model.deprecated;
    }

    /// @notice Number of models ever registered.
    function modelCount() external view returns (uint256) {
        return _modelIds.length;
    }

    /// @notice The id of the `index`-th registered model.
    function modelIdAt(uint256 index) external view returns (bytes32) {
        return _modelIds[index];
    }

    /// @notice Semantic version of this contract's interface.
    function version() external pure returns (string memory) {
        return "2.0.0";
    }

    function _onlyPublisher(bytes32 modelId) private view {
        address publisher = _models[modelId].publisher;
        if (publisher == address(0)) revert UnknownModel(modelId);
        // INVARIANT: only the publisher changes its model's record.
        if (publisher != msg.sender) revert NotPublisher(modelId, publisher, msg.sender);
    }
}
