#!/usr/bin/env bash
# Copy ONNX Runtime Web's WebAssembly build (the npm package onnxruntime-web, pinned and verified
# by SHA-256) into the package, so the web page reads drawn numbers in the browser with no CDN.
# Run by scripts/install.sh; the files (the .wasm alone is 15 MB) are not committed, and the page
# reads on the server when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/npm_package.sh
VERSION=1.31.1
SHA256=bdccdb9fbb9ab537247c0c734e9b1d2b1b338b4f2a09faa58f0dc1cfa27c312c
OUT=src/digitrec/serve/static/ort
STAMP="onnxruntime-web $VERSION (npm), sha256 of the package $SHA256, MIT licence (package.json: the npm package ships no licence file)"
if [ "$(cat "$OUT/VERSION" 2>/dev/null)" = "$STAMP" ]; then
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm_package onnxruntime-web "$VERSION" "$SHA256" "$work"
mkdir -p "$OUT"
for file in dist/ort.wasm.min.mjs dist/ort-wasm-simd-threaded.mjs dist/ort-wasm-simd-threaded.wasm package.json; do
    name=$(basename "$file")
    cp "$work/package/$file" "$OUT/$name.partial"
    mv "$OUT/$name.partial" "$OUT/$name"
done
echo "$STAMP" > "$OUT/VERSION"
echo "vendored onnxruntime-web $VERSION into $OUT" >&2
