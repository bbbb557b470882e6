import { readFileSync } from 'node:fs'
import { type CostProfile, DISPUTE_GAME_GAS } from './params.js'

type ProfilesFile = { machine: string; profiles: { model: string; cpuMsPerInference: number; description?: string }[] }

/**
 * The measured cost profiles (`npm run bench:profiles` writes costProfiles.json beside this package's
 * src), each with its model's worst dispute game gas. Throws when the file is missing or malformed.
 */
export function loadCostProfiles(path: URL | string = new URL('../costProfiles.json', import.meta.url)): {
  machine: string
  profiles: CostProfile[]
} {
  const file = JSON.parse(readFileSync(path, 'utf8')) as ProfilesFile
  if (!Array.isArray(file.profiles)) throw new TypeError(`cost profiles: expected { profiles: [...] } in ${String(path)}`)
  return {
    machine: file.machine,
    profiles: file.profiles.map((p) => {
      if (typeof p.cpuMsPerInference !== 'number' || !(p.cpuMsPerInference > 0)) {
        throw new TypeError(`cost profile ${p.model}: expected a positive cpuMsPerInference, found ${String(p.cpuMsPerInference)}`)
      }
      return { ...p, disputeGameGas: DISPUTE_GAME_GAS[p.model] ?? DISPUTE_GAME_GAS.resnet50! }
    }),
  }
}
