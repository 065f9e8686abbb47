#!/usr/bin/env bash
# Runs before `npm test` and `npm run demo` (npm's pretest/predemo): installs the npm dependencies when
# node_modules is missing or was installed from another package-lock.json, then makes sure Dawn finds a
# WebGPU adapter (scripts/ensure-vulkan.sh). Uses only bash and node, since node_modules may not exist yet.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=node_modules/.bootstrap-stamp
want="$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write(c.createHash("sha256").update(f.readFileSync("package-lock.json")).digest("hex")+" node "+process.versions.node.split(".")[0])')"

# Without a stamp (e.g. after a plain `npm ci`), trust node_modules when npm's own record of the installed
# tree (node_modules/.package-lock.json) has every locked package at its locked version, and it is on disk.
installed_matches_lock() {
  [ -f node_modules/.package-lock.json ] || return 1
  node -e '
    const f = require("fs");
    const lock = JSON.parse(f.readFileSync("package-lock.json", "utf8")).packages || {};
    const have = JSON.parse(f.readFileSync("node_modules/.package-lock.json", "utf8")).packages || {};
    for (const [path, p] of Object.entries(lock)) {
      if (path === "" || p.link) continue;
      const h = have[path];
      if (!h) { if (p.optional || p.peer) continue; process.exit(1); } // optional: other platforms
      if (h.version !== p.version || !f.existsSync(path + "/package.json")) process.exit(1);
    }'
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  :
# Also when the lock changed but only in ways the installed tree already satisfies (a dependency moved
# between dependencies/devDependencies/optionalDependencies, one removed): no reinstall, and worktrees
# that share one node_modules across branches do not reinstall it back and forth.
elif [ -d node_modules ] && { [ ! -f "$stamp" ] || [ "$(cut -d' ' -f2- "$stamp")" = "${want#* }" ]; } && installed_matches_lock; then
  echo "$want" > "$stamp"
else
  echo "[bootstrap] installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

bash scripts/ensure-vulkan.sh
