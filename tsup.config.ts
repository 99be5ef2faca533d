import { defineConfig } from 'tsup'

// One build for every entry point: splitting lets the ESM entries share one copy of the
// error classes; the CJS entries still get their own copies, which is why errors carry a
// Symbol.for brand (see src/errors.ts).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    backend: 'src/backends/index.ts',
    http: 'src/backends/http/index.ts',
    server: 'src/server/index.ts',
    etcd: 'src/backends/etcd/index.ts',
    seed: 'src/backends/seed/index.ts',
    consul: 'src/backends/consul/index.ts',
    eureka: 'src/backends/eureka/index.ts',
    nacos: 'src/backends/nacos/index.ts',
    testing: 'src/testing/index.ts',
    'testing-msw': 'src/testing/msw/index.ts',
    otel: 'src/otel/index.ts',
    // The bins check the Node version, then load their CLI (src/bin/).
    cli: 'src/bin/governance-server.ts',
    'conformance-cli': 'src/bin/governance-conformance.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'node22',
  platform: 'node',
  treeshake: true,
})
