#!/usr/bin/env bash
# Installs the pinned Parquet readers (package.json, package-lock.json beside this script) into
# DEST/node_modules with `npm ci`, once: the CTest fixture Parquet.InstallReaders runs it
# before the tests that read parquet_sink's files (#32, docs/parquet.md). Needs Node.js and npm
# (scripts/bootstrap.sh installs them) and the npm registry, or npm's cache.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="${1:?usage: install_readers.sh DEST}"
command -v node >/dev/null || { echo "install_readers: Node.js is not installed (scripts/bootstrap.sh installs it)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install_readers: npm is not installed (scripts/bootstrap.sh installs it)" >&2; exit 1; }
mkdir -p "$dest"
if cmp -s "$here/package-lock.json" "$dest/package-lock.json" && [ -d "$dest/node_modules/parquet-wasm" ] &&
   [ -d "$dest/node_modules/@duckdb/node-api" ] && [ -d "$dest/node_modules/apache-arrow" ]; then
  exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$dest/"
cd "$dest"
npm ci --no-audit --no-fund --loglevel=error
