#!/usr/bin/env bash
# Vendor the third-party browser assets from npm into the package, so that running the
# service needs no build step and no network (a library network without internet still
# gets its pages and its API docs). Run from the repo root:
#   scripts/vendor_web_assets.sh
# It downloads each npm tarball with `npm pack` into a temporary directory, copies the
# built files and the licence next to each other, and prints the checksums. Commit the
# result (src/chaekieum/web/static/vendor/, src/chaekieum/api/static/vendor/).
set -euo pipefail

CHARTJS_VERSION="${CHARTJS_VERSION:-4.4.7}"
SWAGGER_UI_VERSION="${SWAGGER_UI_VERSION:-5.35.0}"
WEB_DEST="src/chaekieum/web/static/vendor"
API_DEST="src/chaekieum/api/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

unpack() {  # unpack <package> <version>: the tarball's files end up in $TMP/<package>/
  mkdir -p "$TMP/$1"
  (cd "$TMP/$1" && npm pack --silent "$1@$2" >/dev/null && tar xzf ./*.tgz)
}

# Chart.js: the staff console's dashboard charts (web UI)
mkdir -p "$WEB_DEST"
unpack chart.js "$CHARTJS_VERSION"
cp "$TMP/chart.js/package/dist/chart.umd.js" "$WEB_DEST/chart.umd.js"
cp "$TMP/chart.js/package/LICENSE.md" "$WEB_DEST/chart.js.LICENSE.md"
echo "chart.js ${CHARTJS_VERSION} (npm: chart.js, dist/chart.umd.js, MIT)" > "$WEB_DEST/README.txt"
sha256sum "$WEB_DEST/chart.umd.js" "$WEB_DEST/chart.js.LICENSE.md"

# Swagger UI: the interactive API docs at /api/docs (the API serves it, also without the
# web UI); the source maps are left out
mkdir -p "$API_DEST"
unpack swagger-ui-dist "$SWAGGER_UI_VERSION"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE; do
  cp "$TMP/swagger-ui-dist/package/$f" "$API_DEST/$f"
done
sed -i 's|/\*# sourceMappingURL=[^*]*\*/||' "$API_DEST/swagger-ui.css"
echo "swagger-ui-dist ${SWAGGER_UI_VERSION} (npm: swagger-ui-dist, swagger-ui-bundle.js, swagger-ui.css, Apache-2.0)" \
  > "$API_DEST/README.txt"
sha256sum "$API_DEST/swagger-ui-bundle.js" "$API_DEST/swagger-ui.css"
