#!/usr/bin/env bash
# Vendor the web UI's third-party browser assets from npm into the package, so that
# running the service needs no build step and no network. Run from the repo root:
#   scripts/vendor_web_assets.sh
# It downloads the npm tarball with `npm pack` into a temporary directory, copies the
# UMD build and the licence next to each other, and prints the checksums. Commit the
# result (src/chaekieum/web/static/vendor/).
set -euo pipefail

CHARTJS_VERSION="${CHARTJS_VERSION:-4.4.7}"
DEST="src/chaekieum/web/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

mkdir -p "$DEST"
(cd "$TMP" && npm pack --silent "chart.js@${CHARTJS_VERSION}" >/dev/null && tar xzf chart.js-*.tgz)
cp "$TMP/package/dist/chart.umd.js" "$DEST/chart.umd.js"
cp "$TMP/package/LICENSE.md" "$DEST/chart.js.LICENSE.md"
echo "chart.js ${CHARTJS_VERSION} (npm: chart.js, dist/chart.umd.js, MIT)" > "$DEST/README.txt"
sha256sum "$DEST/chart.umd.js" "$DEST/chart.js.LICENSE.md"
