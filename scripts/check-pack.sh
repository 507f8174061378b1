#!/usr/bin/env bash
# The library as a user gets it: `npm pack` of packages/ringpoll holds no bench code and depends on
# bindings and node-addon-api only; `npm install <tarball>` in an empty project builds the addon
# (liburing-dev present) and `new IoUring().nop()` runs. Needs the npm registry (bindings,
# node-addon-api). Run by .ci/run after the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

npm pack --silent --pack-destination "$work" -w packages/ringpoll >/dev/null
tarball="$(ls "$work"/ringpoll-*.tgz)"
files="$(tar tzf "$tarball")"
if grep -Eq '(^|/)(bench|test)/|bench_|\.test\.' <<<"$files"; then
  echo "check-pack: the library tarball holds bench or test files:" >&2
  grep -E '(^|/)(bench|test)/|bench_|\.test\.' <<<"$files" >&2
  exit 1
fi
deps="$(tar xzf "$tarball" -O package/package.json | node -e 'const p=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log(Object.keys(p.dependencies??{}).sort().join(" "))')"
if [ "$deps" != "bindings node-addon-api" ]; then
  echo "check-pack: the library depends on '$deps', expected 'bindings node-addon-api'" >&2
  exit 1
fi

app="$work/app"
mkdir "$app"
echo '{ "name": "ringpoll-pack-check", "private": true, "type": "module" }' >"$app/package.json"
(cd "$app" && npm install --no-audit --no-fund --loglevel=error "$tarball" 2>&1 | grep -v 'install-scripts\|nodedir' || true)
count="$(cd "$app" && npm ls --all --parseable 2>/dev/null | tail -n +2 | wc -l)"
(cd "$app" && node --input-type=module -e '
import { IoUring } from "ringpoll";
const ring = new IoUring({ entries: 8 });
const res = await ring.nop();
await ring.close();
if (res !== 0) throw new Error(`nop resolved ${res}`);
console.log("check-pack: installed from the tarball, new IoUring().nop() resolved 0");
')
echo "check-pack: $(wc -l <<<"$files") files in $(basename "$tarball"), $count packages installed (dependencies: $deps)"
