#!/usr/bin/env bash
# Copy Swagger UI (the npm package swagger-ui-dist, pinned and verified by SHA-256) into the
# package, so the API docs at /docs work offline like the rest of the web app. The copied files
# are committed; rerun only to change the version.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/npm_package.sh
VERSION=5.35.0
SHA256=1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6
OUT=src/digitrec/serve/static/docs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm_package swagger-ui-dist "$VERSION" "$SHA256" "$work"
mkdir -p "$OUT"
for file in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE; do
    cp "$work/package/$file" "$OUT/$file"
done
echo "swagger-ui-dist $VERSION (npm), sha256 of the package $SHA256" > "$OUT/VERSION"
echo "vendored swagger-ui-dist $VERSION into $OUT"
