"""Replicas starting together on an empty database all come up, sharing keys and accounts."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from auth_service.db import MIGRATIONS_PATH
from auth_service.main import create_app
from auth_service.models import Base
from servicekit.migrations import upgrade_to_head
from servicekit.testing import clear_tables


def test_two_replicas_start_together_on_an_empty_database(
    database_factory, settings, service_secret
) -> None:
    url = database_factory.create("auth_startup")
    upgrade_to_head(MIGRATIONS_PATH, url)
    fresh = settings.model_copy(update={"database_url": url})
    errors: list[BaseException] = []
    clients: list[TestClient] = []
    barrier = threading.Barrier(2)

    def start() -> None:
        client = TestClient(create_app(fresh))
        barrier.wait()
        try:
            client.__enter__()
            clients.append(client)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert len(clients) == 2
        kids = [
            {k["kid"] for k in c.get("/api/v1/auth/.well-known/jwks.json").json()["keys"]}
            for c in clients
        ]
        assert kids[0]
        assert kids[0] == kids[1]
        form = {
            "grant_type": "client_credentials",
            "client_id": "prediction",
            "client_secret": service_secret,
        }
        token = clients[0].post("/api/v1/auth/token", data=form).json()["access_token"]
        # A token from one replica is good on the other.
        me = clients[1].get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
    finally:
        for client in clients:
            client.__exit__(None, None, None)
        clear_tables(url, Base.metadata)
