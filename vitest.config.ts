import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (path: string): string => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

export default defineConfig({
  resolve: {
    // The documentation's examples import the package as users do; these names point at the sources.
    alias: [
      { find: /^governance-client$/, replacement: src('index.ts') },
      { find: /^governance-client\/server$/, replacement: src('server/index.ts') },
      { find: /^governance-client\/etcd$/, replacement: src('backends/etcd/index.ts') },
      { find: /^governance-client\/seed$/, replacement: src('backends/seed/index.ts') },
      { find: /^governance-client\/testing$/, replacement: src('testing/index.ts') },
      { find: /^governance-client\/testing\/msw$/, replacement: src('testing/msw/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts', 'docs/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    unstubEnvs: true,
  },
})
