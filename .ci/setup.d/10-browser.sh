#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; the gateway's shared rate-limit tests start redis-server.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi
echo "chromium: $(chromium --version 2>/dev/null || echo missing)"
