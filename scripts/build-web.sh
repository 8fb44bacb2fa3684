#!/usr/bin/env bash
# Install the web UI's third-party browser libraries from the npm registry (pinned in
# package.json / package-lock.json) and copy the dist files the pages load into
# src/foretell/web/static/vendor/. That folder is generated and git-ignored: nothing third-party
# is committed and nothing is loaded from a CDN at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  echo "build-web: npm is required (Debian: apt-get install -y npm)" >&2
  exit 1
fi

if [ -f package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
else
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error
fi

vendor=src/foretell/web/static/vendor
rm -rf "$vendor"
mkdir -p "$vendor"
copy() {  # copy SRC DEST_NAME
  cp "node_modules/$1" "$vendor/$2"
}
copy htmx.org/dist/htmx.min.js htmx.min.js
copy htmx.org/LICENSE htmx.LICENSE.txt
copy lightweight-charts/dist/lightweight-charts.standalone.production.js \
     lightweight-charts.standalone.production.js
copy lightweight-charts/LICENSE lightweight-charts.LICENSE.txt
# Swagger UI for /docs (FastAPI's default would load it from a CDN).
copy swagger-ui-dist/swagger-ui-bundle.js swagger-ui-bundle.js
copy swagger-ui-dist/swagger-ui.css swagger-ui.css
copy swagger-ui-dist/LICENSE swagger-ui.LICENSE.txt
# axe-core is only for the accessibility test (tests/web); it stays in node_modules.
echo "build-web: vendor files in $vendor:"
ls -1 "$vendor"
