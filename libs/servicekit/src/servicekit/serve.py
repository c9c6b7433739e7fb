"""Run a service under uvicorn with a drain period: /readyz fails first, then uvicorn stops.

python -m servicekit.serve records_service.main:create_app --port 8002
"""

from __future__ import annotations

import argparse
import threading
from types import FrameType

import uvicorn

from servicekit.health import DRAIN_STATE


class DrainingServer(uvicorn.Server):
    """On the first SIGTERM/SIGINT, report not-ready for `drain_seconds`, then shut down."""

    def __init__(self, config: uvicorn.Config, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain_seconds > 0 and not DRAIN_STATE["draining"]:
            DRAIN_STATE["draining"] = True
            timer = threading.Timer(self.drain_seconds, super().handle_exit, args=(sig, frame))
            timer.daemon = True
            timer.start()
            return
        DRAIN_STATE["draining"] = True
        super().handle_exit(sig, frame)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a Stationhouse service")
    parser.add_argument("app", help="module:factory, e.g. records_service.main:create_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--drain-seconds", type=float, default=0.0)
    parser.add_argument("--graceful-timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        args.app,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        timeout_graceful_shutdown=int(args.graceful_timeout),
        proxy_headers=True,
        log_config=None,
    )
    DrainingServer(config, args.drain_seconds).run()


if __name__ == "__main__":
    main()
