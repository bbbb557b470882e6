/**
 * How a cheating inference node lies, on a fraction `rate` of its answers (tests and demos only):
 * - `flip-output`: one output value is off by one (a wrong final output); it defends that output;
 * - `deep-value`: one value inside an intermediate op is wrong and flows on to the output, which
 *   stays plausible (`deepValueTamper`); it replays the same corruption when disputed;
 * - `silent`: a wrong output like `flip-output`, and it never plays a dispute game.
 * `seed` fixes which answers are wrong (the same seed, the same answers).
 */
export type Fault = { kind: 'flip-output' | 'deep-value' | 'silent'; rate: number; seed?: number }

export const FAULT_KINDS: readonly Fault['kind'][] = ['flip-output', 'deep-value', 'silent']
