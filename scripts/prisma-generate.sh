#!/usr/bin/env bash
# Offline `prisma generate` (postinstall and `npm run db:generate`).
#
# The Prisma 7 CLI tries to download its native schema engine on every command, and these machines
# cannot reach the download host. `generate` never uses that engine (it parses the schema with the
# bundled WASM), so pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips the download.
# Only for generate: migrate/db push with that variable set exit 0 and do nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

export PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-$(command -v node)}"
export PRISMA_HIDE_UPDATE_MESSAGE=1
export CHECKPOINT_DISABLE=1

exec node node_modules/prisma/build/index.js generate --schema prisma/schema.prisma "$@"
