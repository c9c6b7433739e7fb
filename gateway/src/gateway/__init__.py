"""Stationhouse gateway: forwards /api/v1/<service>/... and serves the web UI."""
