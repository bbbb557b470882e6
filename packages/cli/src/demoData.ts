import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's `data/` directory (from packages/cli/src or packages/cli/dist). */
const dataDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'data')

/**
 * The demo's model and data, shipped with the repository (data/README.md: sources and licences), so
 * `verity demo` and `verity devnet` run in a clone with nothing beside it.
 */
export const demoData = {
  /** mnist-8 from the ONNX Model Zoo (MIT). */
  onnx: join(dataDir, 'models', 'mnist-8.onnx'),
  /** The MNIST test set, gzipped IDX files (CC BY-SA 3.0, LeCun, Cortes, Burges). */
  mnist: join(dataDir, 'datasets', 'mnist'),
} as const
