import { fileURLToPath } from 'node:url'
import { configDefaults, defineConfig } from 'vitest/config'

const src = (path: string): string => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

const include = ['test/**/*.test.ts', 'examples/**/*.test.ts', 'docs/**/*.test.ts']

/**
 * Files that load the machine (a 3-member etcd cluster, a child process at full CPU) or hold
 * real-clock timing bounds. They run after all the others, one at a time, so that they never
 * share the CPU with another test file, however many cores Vitest sees. (On the 2-core CI
 * machine Vitest runs one file at a time anyway: its default is one worker per core but one.)
 */
const isolated = [
  'test/backends/etcd-cluster.test.ts',
  'test/e2e/registry-leaks.test.ts',
  'test/e2e/registry-lifecycle.test.ts',
  'test/e2e/registry-signals.test.ts',
]

export default defineConfig({
  resolve: {
    // The documentation's examples import the package as users do; these names point at the sources.
    alias: [
      { find: /^governance-client$/, replacement: src('index.ts') },
      { find: /^governance-client\/backend$/, replacement: src('backends/index.ts') },
      { find: /^governance-client\/http$/, replacement: src('backends/http/index.ts') },
      { find: /^governance-client\/server$/, replacement: src('server/index.ts') },
      { find: /^governance-client\/etcd$/, replacement: src('backends/etcd/index.ts') },
      { find: /^governance-client\/seed$/, replacement: src('backends/seed/index.ts') },
      { find: /^governance-client\/testing$/, replacement: src('testing/index.ts') },
      { find: /^governance-client\/testing\/msw$/, replacement: src('testing/msw/index.ts') },
    ],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    unstubEnvs: true,
    // expect.poll() waits for something that will happen (a watch delivering, a retry landing);
    // its default of 1 s is a timing bound a starved CI core can miss. Only a failure waits longer.
    expect: { poll: { timeout: 10_000 } },
    // Group order 1 then 2 (a group order of 0 does not order reliably in Vitest 5).
    projects: [
      { extends: true, test: { name: 'main', include, exclude: [...configDefaults.exclude, ...isolated], sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'isolated', include: isolated, fileParallelism: false, sequence: { groupOrder: 2 } } },
    ],
  },
})
