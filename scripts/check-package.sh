#!/usr/bin/env bash
# Packs the package from a clean tree and checks it as a user gets it: publint, Are The
# Types Wrong, and an install into an empty project where `import` and `require` of every
# subpath and both bins must work.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A clean tree: the files git would commit, as they are now (edits included), no dist/ and
# nothing ignored, with this checkout's node_modules (an `npm ci` there would only repeat
# it). `npm pack` must build dist/ itself through the prepack script.
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$work/src"
ln -s "$root/node_modules" "$work/src/node_modules"
if [ -e "$work/src/dist" ]; then echo "check-package: dist/ is tracked, the clean tree is not clean" >&2; exit 1; fi
tarball=$(cd "$work/src" && npm pack --silent --pack-destination "$work" | tail -n 1)
echo "packed $tarball from a clean tree"
if ! tar -tzf "$work/$tarball" | grep -c '^package/dist/index.js$' >/dev/null; then echo "check-package: the tarball has no dist/index.js" >&2; exit 1; fi
npx publint "$work/$tarball" --strict
# node16 profile: the package needs Node >= 22, so node10-style resolution (no exports map) is out of scope.
npx attw "$work/$tarball" --profile node16

mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "$work/$tarball"
# The msw subpath needs its optional peers, as a user of it has them.
npm install --no-audit --no-fund --silent msw@3 @mswjs/interceptors@0.45
node_bin="$root/node_modules/.bin/node"
subpaths=("" "/backend" "/http" "/server" "/etcd" "/seed" "/consul" "/nacos" "/eureka" "/testing" "/testing/msw")
for sub in "${subpaths[@]}"; do
  spec="governance-client$sub"
  "$node_bin" --input-type=module -e "const m = await import('$spec'); if (Object.keys(m).length === 0) throw new Error('$spec: no exports'); console.log('import  $spec:', Object.keys(m).length, 'exports')"
  "$node_bin" -e "const m = require('$spec'); if (Object.keys(m).length === 0) throw new Error('$spec: no exports'); console.log('require $spec:', Object.keys(m).length, 'exports')"
done
# The OpenTelemetry subpath needs its optional peers; every entry above loaded without them.
npm install --no-audit --no-fund --silent @opentelemetry/api@1 @opentelemetry/resources@3 @opentelemetry/sdk-metrics@3
"$node_bin" --input-type=module -e "const m = await import('governance-client/otel'); if (typeof m.createMetricProducer !== 'function') throw new Error('otel: no createMetricProducer'); console.log('import  governance-client/otel:', Object.keys(m).length, 'exports')"
"$node_bin" -e "const m = require('governance-client/otel'); if (typeof m.createMetricProducer !== 'function') throw new Error('otel: no createMetricProducer'); console.log('require governance-client/otel:', Object.keys(m).length, 'exports')"
# Errors must be recognised across the ESM and CJS builds and across entry points.
"$node_bin" --input-type=module -e "
import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const esm = await import('governance-client')
const cjs = require('governance-client')
const e = new cjs.ConflictError('x')
if (!(e instanceof esm.ConflictError) || !(e instanceof esm.GovernanceError)) throw new Error('instanceof fails across builds')
if (e instanceof esm.NotFoundError) throw new Error('instanceof too loose')
console.log('errors: instanceof holds across ESM and CJS')
"
for bin in governance-server governance-conformance; do
  PATH="$(dirname "$node_bin"):$PATH" npx --no-install "$bin" --help >/dev/null
  echo "bin: $bin --help works"
done
# On a Node older than the engines range, the import and the bins fail with one clear line.
# The machine's own node (outside node_modules, where npm puts Node 24 first), or OLD_NODE.
old_node=${OLD_NODE:-$(PATH=$(tr ':' '\n' <<<"$PATH" | grep -v node_modules | paste -sd: -) command -v node || true)}
if [ -n "$old_node" ] && ! "$old_node" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=19)?0:1)'; then
  for probe in "--input-type=module -e import('governance-client')" "-e require('governance-client')" "node_modules/governance-client/dist/cli.js --help"; do
    # shellcheck disable=SC2086
    if out=$("$old_node" $probe 2>&1); then echo "check-package: $probe ran on $("$old_node" -v)" >&2; exit 1; fi
    if ! grep -q 'requires Node.js >= 22.19' <<<"$out"; then echo "check-package: $probe on $("$old_node" -v) did not name the Node version: $out" >&2; exit 1; fi
  done
  echo "old node: $("$old_node" -v) gets 'requires Node.js >= 22.19' from import, require and the bin"
else
  echo "old node: none older than 22.19 on this machine (set OLD_NODE=/path/to/node20), version guard not checked"
fi
# The console ships in the tarball and both builds find it from the installed package.
for mode in import require; do
  "$node_bin" --input-type=module -e "
import { createRequire } from 'node:module'
const load = '$mode' === 'import' ? (s) => import(s) : async (s) => createRequire(import.meta.url)(s)
const { createGovernanceServer } = await load('governance-client/server')
const server = await createGovernanceServer()
try {
  for (const file of ['', 'app.js', 'app.css']) {
    const res = await fetch(server.url + '/ui/' + file)
    if (res.status !== 200) throw new Error('/ui/' + file + ' answered ' + res.status + ' ($mode)')
  }
} finally { await server.close() }
console.log('console: /ui/ served from the installed package ($mode)')
"
done
