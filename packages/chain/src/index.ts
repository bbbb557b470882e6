export {
  type AddressBook,
  type DeploymentParams,
  parseAddressBook,
  readAddressBook,
  serializeAddressBook,
  writeAddressBook,
} from './addressBook.js'
export { type Chain, toAccount } from './chain.js'
export { type ConnectParameters, connect } from './connect.js'
export { type VerityContracts, verityContracts, verityErrorsAbi } from './contracts.js'
export {
  checkDeploymentParams,
  DEFAULT_DEPLOYMENT_PARAMS,
  type DeployVerityParameters,
  deployVerity,
  disputeClocksFor,
} from './deployVerity.js'
export { DERIVED_DEFAULTS, derivedDeploymentParams } from './derivedDefaults.js'
export { DEV_MNEMONIC, type DevAccount, devAccounts } from './devAccounts.js'
export { type EmbeddedChain, type StartEmbeddedChainParameters, startEmbeddedChain } from './embeddedChain.js'
export {
  AddressBookError,
  ChainError,
  ChainMismatchError,
  ContractRevertError,
  InvalidDeploymentParamsError,
  KeyFileError,
  RpcUnavailableError,
  TransactionFailedError,
  TransactionSendError,
} from './errors.js'
export {
  type CursorStore,
  type EventFollower,
  type FollowEventsParameters,
  fileCursor,
  followEvents,
  memoryCursor,
} from './followEvents.js'
export { readKeyFile } from './keyFile.js'
export { listenUrl } from './listenUrl.js'
export { registerOperator } from './registerOperator.js'
export { type RpcServer, serveJsonRpc } from './rpcServer.js'
export {
  blockRanges,
  DEFAULT_MAX_BLOCK_RANGE,
  firstBlockAtOrAfter,
  type ScanLogsParameters,
  scanLogs,
} from './scanLogs.js'
export { TxSender, type TxSenderParameters, type WriteParameters, type WriteResult } from './txSender.js'
