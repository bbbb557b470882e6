import * as z from 'zod'
import { OUTPUT_ENCODINGS } from './wireForms.js'
import {
  AddressString,
  apiRegistry,
  Bytes32,
  Count,
  int16ValuesOrBase64,
  MAX_RANK,
  numberValues,
  SignatureHex,
  Uint8,
  uintString,
  WireInputsSchema,
  WireReceiptSchema,
  WireRequestSchema,
} from './wireSchema.js'

/**
 * The request and response bodies of the inference node's and the verifier's HTTP API, and the table
 * of their endpoints. Nodes validate what they are sent with these schemas, clients validate what a
 * node answers with them (`readNodeResponse`), and docs/openapi.json is generated from them.
 */

const named = <T extends z.ZodType>(schema: T, id: string, description: string): T => {
  apiRegistry.add(schema, { id, description })
  return schema
}
const object = <T extends z.core.$ZodLooseShape>(shape: T) => z.object(shape, { error: 'must be an object' })
const Milliseconds = z.number({ error: 'must be a number' }).min(0).meta({ description: 'milliseconds' })

/** Every error: `{ error: { code, message, details } }` with a stable code (docs/protocol.md lists them). */
export const ErrorBody = named(
  object({
    error: object({
      code: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
      message: z.string().meta({ description: 'what was expected and what was found' }),
      details: z.record(z.string(), z.unknown()),
    }),
  }),
  'Error',
  'An error: a stable code, a message saying what was expected and what was found, and bounded details.',
)

/** POST /v1/infer body. The node checks `inputs` against the model's input spec (INPUT_* errors). */
export const InferBody = named(
  object({
    request: WireRequestSchema,
    signature: SignatureHex,
    inputs: WireInputsSchema,
    client: AddressString.optional().meta({
      description:
        "the address the signature recovers to (optional): the node checks its escrow before any signature work and refuses the request (BAD_SIGNATURE) before the run unless the signature is this address's",
    }),
    values: z.boolean().optional().meta({
      description:
        "whether each output in the answer carries `values` (raw · scale) beside `raw` (optional, default true); a client that knows the model's scales computes them itself and asks for none",
    }),
    encoding: z
      .enum(OUTPUT_ENCODINGS, { error: `must be one of ${OUTPUT_ENCODINGS.map((e) => `"${e}"`).join(', ')}` })
      .optional()
      .meta({
        description:
          "how each output's `raw` is written in the answer (optional, default json): `json`, an array of int16 integers; `base64`, the int16 values little-endian in standard padded base64 — a third of the characters for a language model's logits",
      }),
  }),
  'InferBody',
  "A signed inference request and its quantized inputs (hashing to the request's inputHash), optionally naming its signer.",
)

export const OutputTensor = named(
  object({
    shape: z.array(Count).max(MAX_RANK, { error: `must have at most ${MAX_RANK} dimensions` }),
    scale: z.number(),
    raw: int16ValuesOrBase64(
      'the quantized int16 outputs the receipt commits to: an array of integers, or their base64 when the request\'s body asked for `encoding: "base64"`',
    ),
    values: numberValues('raw · scale').optional(),
  }),
  'OutputTensor',
  "One output tensor: its quantized values (what outputHash commits to) and their real values (absent when the request's body asked for no values). Only `raw` is committed to: a client takes names, shapes and scales from the model and computes the values itself.",
)

/** POST /v1/infer answer. */
export const InferResponse = named(
  object({ inferenceId: Bytes32, receipt: WireReceiptSchema, signature: SignatureHex, outputs: z.record(z.string(), OutputTensor) }),
  'InferResponse',
  "The node's signed receipt (its id is the receipt's EIP-712 hash) and the outputs.",
)

export const TrustLevelSchema = named(
  z.enum(['EXECUTED', 'COMMITTED', 'ATTESTED', 'FINAL', 'DISPUTED', 'OVERTURNED']),
  'TrustLevel',
  'The trust level of a receipt (docs/protocol.md, "Trust levels").',
)

export const TrustEventSchema = named(
  object({
    level: TrustLevelSchema,
    at: Milliseconds.meta({ description: 'ms since the epoch' }),
    by: z.string().optional(),
    attestations: Count.optional(),
    batchId: Count.optional(),
  }),
  'TrustEvent',
  "One step of a receipt's timeline.",
)

export const BatchStatusName = z.enum(['pending', 'committed', 'challenged', 'finalized'])

/** GET /v1/inferences/:id answer. */
export const InferenceResponse = named(
  object({
    inferenceId: Bytes32,
    receipt: WireReceiptSchema,
    signature: SignatureHex,
    trust: TrustLevelSchema,
    attestations: Count,
    timeline: z.array(TrustEventSchema).max(1024, { error: 'must have at most 1024 events' }),
    batch: object({
      batchId: Count.nullable(),
      index: Count.nullable(),
      count: Count,
      root: Bytes32,
      status: BatchStatusName,
    }).nullable(),
  }),
  'Inference',
  "A receipt this node signed, with its trust level and timeline as the node sees the chain (a client checks both: the receipt against the id and the chain's root, the level against the chain's events).",
)

/** GET /v1/inferences/:id/proof answer. */
export const ProofResponse = named(
  object({
    inferenceId: Bytes32,
    batchId: Count,
    index: Count,
    count: Count,
    root: Bytes32,
    proof: z.array(Bytes32).max(64, { error: 'must be at most 64 hashes' }),
  }),
  'InclusionProof',
  "The receipt's Merkle proof in its committed batch (sorted-pair keccak tree, docs/protocol.md).",
)

/** GET /v1/batches/:root answer (what a verifier fetches at a batch's dataURI). */
export const BatchResponse = named(
  object({
    root: Bytes32,
    batchId: Count.nullable(),
    count: Count,
    receipts: z
      .array(
        object({
          receipt: WireReceiptSchema,
          signature: SignatureHex,
          request: WireRequestSchema,
          clientSignature: SignatureHex,
          executedAtMs: Milliseconds,
          computeMs: Milliseconds,
        }),
      )
      .max(65_536, { error: 'must have at most 65536 receipts' }),
  }),
  'Batch',
  "A batch's receipts in commit order, each with the client's signed request (the chain of custody a verifier checks) and the node's own timings (not committed).",
)

/** GET /v1/receipts?after&limit answer. */
export const ReceiptsFeed = named(
  object({
    receipts: z
      .array(
        object({
          seq: Count,
          inferenceId: Bytes32,
          receipt: WireReceiptSchema,
          signature: SignatureHex,
          executedAtMs: Milliseconds,
          computeMs: Milliseconds,
        }),
      )
      .max(1000, { error: 'must have at most 1000 items' }),
    next: Count.meta({ description: 'the cursor for the next page (`after`)' }),
  }),
  'ReceiptsFeed',
  'Every receipt this node signed, in order, committed or not.',
)

/** GET /v1/channels/:client answer. */
export const ChannelResponse = named(
  object({
    client: AddressString,
    node: AddressString,
    price: uintString(96).meta({ description: "the node's price per inference, token base units" }),
    authorized: uintString(128),
    charged: uintString(128),
    paid: uintString(128),
    voucher: object({ request: WireRequestSchema, signature: SignatureHex }).nullable(),
  }),
  'Channel',
  "A client's payment channel as the node keeps it, with the highest voucher (signed request) the client sent.",
)

/** GET /v1/data/:hash answer. */
export const DataResponse = named(
  object({ inputHash: Bytes32, inputs: WireInputsSchema }),
  'InputData',
  'The inputs of a receipt, by their hash (what a verifier re-executes).',
)

/** GET /healthz answer of an inference node. */
export const NodeHealth = named(
  object({
    ok: z.literal(true),
    role: z.literal('inference'),
    node: AddressString,
    chainId: Count,
    price: uintString(96).meta({ description: 'the fee per inference this node charges, token base units' }),
    fault: object({ kind: z.string(), rate: z.number(), seed: z.number().optional() })
      .optional()
      .meta({ description: 'present only on a deliberately faulty node (tests and demos)' }),
    inferences: Count,
    unbatched: Count,
    pendingBatches: Count,
    committedBatches: Count,
    finalizedBatches: Count,
  }),
  'NodeHealth',
  "An inference node's identity, price and counts.",
)

/** GET /healthz answer of a verifier. */
export const VerifierHealth = named(
  object({
    ok: z.literal(true),
    role: z.literal('verifier'),
    verifier: AddressString,
    sampleRate: z.union([z.number().min(0).max(1), z.literal('adaptive')]),
    batches: Count,
    done: Count,
    checked: Count,
    matched: Count,
    challenges: Count,
  }),
  'VerifierHealth',
  "A verifier's identity, sampling rate and counts.",
)

/** GET /v1/checks?after&limit answer of a verifier. */
export const ChecksFeed = named(
  object({
    checks: z
      .array(
        object({
          seq: Count,
          batchId: Count,
          index: Count,
          inferenceId: Bytes32,
          mode: Uint8,
          computeMs: Milliseconds,
          matched: z.boolean(),
          atMs: Milliseconds,
        }),
      )
      .max(1000, { error: 'must have at most 1000 items' }),
    next: Count,
  }),
  'ChecksFeed',
  'Every re-execution this verifier ran, in order.',
)

/** One endpoint of the API: what it takes and what it answers, by status. */
export type Endpoint = {
  method: 'get' | 'post'
  path: string
  summary: string
  params?: Record<string, { schema: z.ZodType; description: string }>
  query?: Record<string, { schema: z.ZodType; description: string }>
  body?: z.ZodType
  responses: Record<number, { schema: z.ZodType; description: string } | { text: string; description: string }>
}

const id = { schema: Bytes32, description: 'the inference id: the EIP-712 hash of the receipt' }
const feedQuery = {
  after: { schema: z.string().regex(/^\d+$/), description: 'the last sequence number seen (default 0)' },
  limit: { schema: z.string().regex(/^\d+$/), description: 'page size, 1 to 1000 (default 500)' },
}
const err = (description: string) => ({ schema: ErrorBody, description })

/** The inference node's endpoints. */
export const nodeEndpoints: readonly Endpoint[] = [
  {
    method: 'post',
    path: '/v1/infer',
    summary: 'Run a signed inference request; answers the signed receipt and the outputs',
    body: InferBody,
    responses: {
      200: { schema: InferResponse, description: 'the receipt, its signature and the outputs' },
      400: err('a malformed body or field (INVALID_MESSAGE, INVALID_SIGNATURE, INPUT_*, WRONG_NODE, REQUEST_EXPIRED …)'),
      401: err('the signature does not recover to an address, or not to the client the body names (BAD_SIGNATURE)'),
      402: err('fee, escrow or channel too low (FEE_TOO_LOW, INSUFFICIENT_ESCROW, CHANNEL_TOTAL_TOO_LOW)'),
      404: err('the model is not registered or not on this node (MODEL_NOT_FOUND)'),
      409: err('the request was already answered (REQUEST_REPLAYED)'),
      413: err('the body is too large (BODY_TOO_LARGE)'),
    },
  },
  {
    method: 'get',
    path: '/v1/inferences/{id}',
    summary: 'A receipt with its trust level and timeline',
    params: { id },
    responses: {
      200: { schema: InferenceResponse, description: 'the receipt and its trust' },
      400: err('INVALID_ID'),
      404: err('INFERENCE_NOT_FOUND'),
    },
  },
  {
    method: 'get',
    path: '/v1/inferences/{id}/proof',
    summary: "A receipt's inclusion proof in its committed batch",
    params: { id },
    responses: {
      200: { schema: ProofResponse, description: 'the proof' },
      400: err('INVALID_ID'),
      404: err('INFERENCE_NOT_FOUND'),
      409: err('not in a committed batch yet (NOT_COMMITTED)'),
    },
  },
  {
    method: 'get',
    path: '/v1/batches/{root}',
    summary: "A batch's receipts (a committed batch's dataURI)",
    params: { root: { schema: Bytes32, description: "the batch's Merkle root" } },
    responses: {
      200: { schema: BatchResponse, description: 'the batch' },
      400: err('INVALID_ROOT'),
      404: err('BATCH_NOT_FOUND'),
    },
  },
  {
    method: 'get',
    path: '/v1/receipts',
    summary: 'Every receipt this node signed, in order',
    query: feedQuery,
    responses: { 200: { schema: ReceiptsFeed, description: 'one page' }, 400: err('INVALID_CURSOR, INVALID_LIMIT') },
  },
  {
    method: 'get',
    path: '/v1/channels/{client}',
    summary: "A client's payment channel and the node's price",
    params: { client: { schema: AddressString, description: "the client's address" } },
    responses: { 200: { schema: ChannelResponse, description: 'the channel' }, 400: err('INVALID_ADDRESS') },
  },
  {
    method: 'get',
    path: '/v1/data/{hash}',
    summary: 'The inputs of a receipt by their hash',
    params: { hash: { schema: Bytes32, description: 'the inputs hash (tensorsHash)' } },
    responses: {
      200: { schema: DataResponse, description: 'the inputs' },
      400: err('INVALID_HASH'),
      404: err('DATA_NOT_FOUND'),
    },
  },
  {
    method: 'get',
    path: '/healthz',
    summary: "The node's identity, price and counts",
    responses: { 200: { schema: NodeHealth, description: 'the node' } },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    responses: { 200: { text: 'text/plain; version=0.0.4', description: 'the Prometheus text format' } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    responses: { 200: { text: 'application/json', description: 'the OpenAPI 3.1 document of this API' } },
  },
]

/** The verifier's endpoints. */
export const verifierEndpoints: readonly Endpoint[] = [
  {
    method: 'get',
    path: '/healthz',
    summary: "The verifier's identity, sampling rate and counts",
    responses: { 200: { schema: VerifierHealth, description: 'the verifier' } },
  },
  {
    method: 'get',
    path: '/v1/checks',
    summary: 'Every re-execution this verifier ran, in order',
    query: feedQuery,
    responses: { 200: { schema: ChecksFeed, description: 'one page' }, 400: err('INVALID_CURSOR, INVALID_LIMIT') },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    responses: { 200: { text: 'text/plain; version=0.0.4', description: 'the Prometheus text format' } },
  },
]
