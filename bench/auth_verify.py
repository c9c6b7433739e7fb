"""Cost of verifying one access token with a cached JWKS (what the gateway and every service
do per request). A benchmark, not a test.

    uv run python bench/auth_verify.py [--rounds 20000]

Times servicekit's JWKSVerifier.verify (header checks, kid lookup in the cached key set, EdDSA
signature, exp/aud/iss/required claims) on tokens signed exactly as the auth service signs them,
and the gateway's edge check end to end in-process (a request with a token minus one without).
Prints microseconds and writes them to bench/results/auth.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import jwt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from auth_common import machine, write_section

from servicekit.testing import TokenFactory


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    samples = sorted(samples)
    return (
        statistics.fmean(samples),
        samples[len(samples) // 2],
        samples[int(len(samples) * 0.99)],
    )


async def verify_costs(rounds: int) -> dict[str, tuple[float, float, float]]:
    factory = TokenFactory()
    verifier = factory.verifier()
    token = factory.token(roles=["officer"], station_id="ST-1")
    await verifier.verify(token)  # warm: keys parsed, cache filled
    results = {}
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        await verifier.verify(token)
        samples.append((time.perf_counter_ns() - start) / 1000)
    results["JWKSVerifier.verify (cached JWKS)"] = _percentiles(samples)

    key = next(iter(verifier._keys.values()))
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        jwt.decode(
            token,
            key=key,
            algorithms=["EdDSA"],
            audience="stationhouse",
            issuer="stationhouse-auth",
        )
        samples.append((time.perf_counter_ns() - start) / 1000)
    results["bare PyJWT EdDSA decode (reference)"] = _percentiles(samples)
    return results


async def gateway_edge_cost(rounds: int) -> tuple[float, float, float, float]:
    """Median latency of a gateway request with a valid token and without one."""
    import httpx

    from gateway.config import Settings
    from gateway.main import create_app

    factory = TokenFactory()
    dead = "http://127.0.0.1:9"  # nothing listens: both variants answer the same error
    app = create_app(
        Settings(
            auth_url=dead,
            records_url=dead,
            prediction_url=dead,
            hotspots_url=dead,
            log_level="ERROR",
            connect_timeout=0.2,
        ),
        verifier=factory.verifier(),
    )
    headers = factory.headers(roles=["officer"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            path = "/api/v1/records/incidents"
            first = await client.get(path, headers=headers)
            with_token, without = [], []
            for _ in range(rounds):
                start = time.perf_counter_ns()
                await client.get(path, headers=headers)
                with_token.append((time.perf_counter_ns() - start) / 1000)
                start = time.perf_counter_ns()
                await client.get(path)
                without.append((time.perf_counter_ns() - start) / 1000)
            bad = await client.get(path, headers={"Authorization": "Bearer x.y.z"})
    return (
        statistics.median(with_token),
        statistics.median(without),
        first.status_code,
        bad.status_code,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20000)
    parser.add_argument("--gateway-rounds", type=int, default=300)
    args = parser.parse_args()
    results = asyncio.run(verify_costs(args.rounds))
    lines = []
    for name, (mean, p50, p99) in results.items():
        print(f"{name}: mean {mean:.1f} µs, p50 {p50:.1f} µs, p99 {p99:.1f} µs")
        lines.append(f"| {name} | {mean:.1f} | {p50:.1f} | {p99:.1f} |")
    gateway_note = ""
    try:
        with_token, without, status, bad = asyncio.run(gateway_edge_cost(args.gateway_rounds))
        print(
            f"gateway request with token: p50 {with_token:.0f} µs, without: {without:.0f} µs "
            f"(difference {with_token - without:.0f} µs; upstream down -> {status}; "
            f"bad token -> {bad})"
        )
        gateway_note = (
            f"\nGateway in-process (upstreams down, so both variants end in the same error): "
            f"median request **{with_token:.0f} µs with a valid token vs {without:.0f} µs "
            f"without**, i.e. about **{with_token - without:.0f} µs** for the edge check; a bad "
            f"token is refused with {bad} before any upstream is tried "
            f"({args.gateway_rounds} requests each).\n"
        )
    except Exception as exc:  # the gateway may change under us; the verifier numbers stand
        print(f"gateway measurement skipped: {type(exc).__name__}: {exc}")
    write_section(
        "verify",
        f"""## Token verification per request (bench/auth_verify.py)

EdDSA (Ed25519) access token, JWKS cached in memory, {args.rounds} verifications, one thread.
Machine: {machine()}.

| step | mean µs | p50 µs | p99 µs |
| --- | --- | --- | --- |
{chr(10).join(lines)}
{gateway_note}""",
    )


if __name__ == "__main__":
    main()
