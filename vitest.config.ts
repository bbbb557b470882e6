import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // One test file at a time: the end-to-end files each run a whole network (chain, nodes,
    // verifiers, dispute games) and time-sensitive roles; on a 2-core machine two of them starve
    // each other's processes. Their summed time is close to the parallel wall time anyway.
    fileParallelism: false,
  },
})
