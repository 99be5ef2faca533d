#!/usr/bin/env bash
# Packs the package and checks it as a user gets it: publint, Are The Types Wrong, and an
# install into an empty project where `import` and `require` of every subpath must work.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "packed $tarball"
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
subpaths=("" "/server" "/etcd" "/seed" "/testing" "/testing/msw")
for sub in "${subpaths[@]}"; do
  spec="governance-client$sub"
  "$node_bin" --input-type=module -e "const m = await import('$spec'); if (Object.keys(m).length === 0) throw new Error('$spec: no exports'); console.log('import  $spec:', Object.keys(m).length, 'exports')"
  "$node_bin" -e "const m = require('$spec'); if (Object.keys(m).length === 0) throw new Error('$spec: no exports'); console.log('require $spec:', Object.keys(m).length, 'exports')"
done
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
PATH="$(dirname "$node_bin"):$PATH" npx --no-install governance-server --help >/dev/null
echo "bin: governance-server --help works"
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
