/**
 * The part of the SDK a web page can bundle (no Node built-ins, no chain client): re-executing a
 * receipt from its model artifact and input, each checked against the hash the receipt commits to.
 */
export { modelFromArtifact, type ReexecuteReturnType, reexecute } from './reexecute.js'
