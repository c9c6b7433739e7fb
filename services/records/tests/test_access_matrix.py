# ruff: noqa: E501  (the matrix reads best as one row per route)
"""The access matrix of DESIGN.md, route by route and role by role (plus an officer of another
station): each call returns exactly what the matrix allows, and a refused call changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

R = "/api/v1/records"
PDF = b"%PDF-1.4\n%%EOF\n"
OWNER = "pc-owner"

ROLES: dict[str, tuple[str, str | None, str]] = {
    "admin": ("admin", None, "adm-1"),
    "supervisor": ("supervisor", "ST-1", "sgt-1"),
    "officer": ("officer", "ST-1", OWNER),
    "officer_other_station": ("officer", "ST-2", "pc-elsewhere"),
    "analyst": ("analyst", "ST-1", "an-1"),
    "citizen": ("citizen", None, "cit-1"),
    "service": ("service", None, "svc:prediction"),
}
STAFF_READ = {"admin": 200, "supervisor": 200, "officer": 200, "officer_other_station": 200,
              "analyst": 200, "citizen": 403, "service": 403}  # fmt: skip
ADMIN_ONLY = {role: 403 for role in ROLES} | {"admin": 200}
PRIVILEGED = {role: 403 for role in ROLES} | {"admin": 200, "supervisor": 200}
OWN_STATION_WRITE = {role: 403 for role in ROLES} | {
    "admin": 200,
    "supervisor": 200,
    "officer": 200,
}
FULL_READ_ONLY = STAFF_READ | {"analyst": 403}
SEALED_READ = {"admin": 200, "supervisor": 200, "officer": 404, "officer_other_station": 404,
               "analyst": 404, "citizen": 403, "service": 403}  # fmt: skip
DELETED_READ = {"admin": 200, "supervisor": 404, "officer": 404, "officer_other_station": 404,
                "analyst": 404, "citizen": 403, "service": 403}  # fmt: skip


def _created(expected: dict[str, int]) -> dict[str, int]:
    return {role: 201 if code == 200 else code for role, code in expected.items()}


def _deleted(expected: dict[str, int]) -> dict[str, int]:
    return {role: 204 if code == 200 else code for role, code in expected.items()}


class World:
    """The records a route is tried on, made on first use (owned by an officer of ST-1)."""

    def __init__(self, client: TestClient, headers: Callable[[str], dict[str, str]]) -> None:
        self.client = client
        self.owner = headers("officer")
        self.supervisor = headers("supervisor")
        self.admin = headers("admin")
        self.made: dict[str, dict[str, Any]] = {}

    def _once(self, name: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if name not in self.made:
            self.made[name] = make()
        return self.made[name]

    def _incident(self) -> dict[str, Any]:
        body = {"category": "assault", "occurred_from": "2026-05-01T20:00:00Z",
                "narrative": "Victim named in text"}  # fmt: skip
        response = self.client.post(f"{R}/incidents", json=body, headers=self.owner)
        assert response.status_code == 201
        return response.json()

    def _act(self, item: dict[str, Any], path: str, who: dict[str, str], **kwargs: Any) -> None:
        url = f"{R}/incidents/{item['id']}"
        etag = self.client.get(url, headers=who).headers["ETag"]
        response = self.client.request(kwargs.pop("method", "POST"), url + path,
                                       headers={**who, "If-Match": etag}, **kwargs)  # fmt: skip
        assert response.status_code < 300, response.text

    @property
    def incident(self) -> dict[str, Any]:
        return self._once("incident", self._incident)

    @property
    def submitted(self) -> dict[str, Any]:
        def make() -> dict[str, Any]:
            item = self._incident()
            self._act(item, "/review", self.owner, json={"action": "submit"})
            return item

        return self._once("submitted", make)

    @property
    def sealed(self) -> dict[str, Any]:
        def make() -> dict[str, Any]:
            item = self._incident()
            self._act(item, "/seal", self.supervisor, json={"reason": "court order 12"})
            return item

        return self._once("sealed", make)

    @property
    def deleted(self) -> dict[str, Any]:
        def make() -> dict[str, Any]:
            item = self._incident()
            self._act(item, "", self.admin, method="DELETE", params={"reason": "entered twice"})
            return item

        return self._once("deleted", make)

    @property
    def person(self) -> dict[str, Any]:
        return self._once("person", lambda: self.client.post(
            f"{R}/persons", json={"given_name": "Alex", "family_name": "Doe", "confirm_new": True},
            headers=self.owner).json())  # fmt: skip

    @property
    def case(self) -> dict[str, Any]:
        return self._once("case", lambda: self.client.post(
            f"{R}/cases", json={"title": "Case", "incident_ids": [self.incident["id"]]},
            headers=self.owner).json())  # fmt: skip

    @property
    def document(self) -> dict[str, Any]:
        return self._once("document", lambda: self.client.post(
            f"{R}/documents", params={"owner_type": "incident", "owner_id": self.incident["id"]},
            files={"file": ("s.pdf", PDF, "application/pdf")}, headers=self.owner).json())  # fmt: skip


def _etag(client: TestClient, url: str) -> str:
    return client.get(url, headers=ADMIN_HEADERS["h"]).headers["ETag"]


ADMIN_HEADERS: dict[str, dict[str, str]] = {}


def _with_etag(method: str, path: Callable[[World], str], **kwargs: Any) -> Callable:
    def call(client: TestClient, world: World, headers: dict[str, str]) -> Any:
        url = path(world)
        resource = url.rsplit("/", 1)[0] if url.endswith(("/review", "/status", "/seal",
                   "/restore", "/amendments", "/diary")) else url  # fmt: skip
        return client.request(
            method, url, headers={**headers, "If-Match": _etag(client, resource)}, **kwargs
        )

    return call


def _plain(method: str, path: Callable[[World], str], **kwargs: Any) -> Callable:
    def call(client: TestClient, world: World, headers: dict[str, str]) -> Any:
        return client.request(method, path(world), headers=headers, **kwargs)

    return call


def inc(w: World) -> str:
    return f"{R}/incidents/{w.incident['id']}"


ROUTES: list[tuple[str, Callable, dict[str, int]]] = [
    # incidents
    ("list incidents", _plain("GET", lambda w: f"{R}/incidents"), STAFF_READ),
    ("read incident", _plain("GET", inc), STAFF_READ),
    ("read sealed incident", _plain("GET", lambda w: f"{R}/incidents/{w.sealed['id']}"), SEALED_READ),
    ("read deleted incident", _plain("GET", lambda w: f"{R}/incidents/{w.deleted['id']}"), DELETED_READ),
    ("create incident", _plain("POST", lambda w: f"{R}/incidents",
     json={"category": "theft", "occurred_from": "2026-05-01T20:00:00Z", "station_id": "ST-1"}),
     _created(OWN_STATION_WRITE)),
    ("edit incident", _with_etag("PATCH", inc, json={"area": "Annex"}), OWN_STATION_WRITE),
    ("submit incident", _with_etag("POST", lambda w: inc(w) + "/review", json={"action": "submit"}), OWN_STATION_WRITE),
    ("approve incident", _with_etag("POST", lambda w: f"{R}/incidents/{w.submitted['id']}/review",
     json={"action": "approve"}), PRIVILEGED),
    ("investigate incident", _with_etag("POST", lambda w: inc(w) + "/status",
     json={"status": "under_investigation"}), OWN_STATION_WRITE),
    ("seal incident", _with_etag("POST", lambda w: inc(w) + "/seal", json={"reason": "court"}), PRIVILEGED),
    ("delete incident", _with_etag("DELETE", inc, params={"reason": "mistake"}), _deleted(ADMIN_ONLY)),
    ("restore incident", _with_etag("POST", lambda w: f"{R}/incidents/{w.deleted['id']}/restore"), ADMIN_ONLY),
    # persons
    ("create person", _plain("POST", lambda w: f"{R}/persons",
     json={"given_name": "Kim", "family_name": "Park", "confirm_new": True}),
     _created(OWN_STATION_WRITE | {"officer_other_station": 200})),
    ("read person", _plain("GET", lambda w: f"{R}/persons/{w.person['id']}"), STAFF_READ),
    ("search persons", _plain("GET", lambda w: f"{R}/persons", params={"name": "Doe"}), FULL_READ_ONLY),
    ("edit person", _with_etag("PATCH", lambda w: f"{R}/persons/{w.person['id']}",
     json={"phone": "555"}), OWN_STATION_WRITE),
    ("delete person", _with_etag("DELETE", lambda w: f"{R}/persons/{w.person['id']}",
     params={"reason": "mistake"}), _deleted(ADMIN_ONLY)),
    ("incident persons", _plain("GET", lambda w: inc(w) + "/persons"), STAFF_READ),
    ("link person", lambda c, w, h: c.post(inc(w) + "/persons", headers=h,
     json={"person_id": w.person["id"], "role": "witness"}), _created(OWN_STATION_WRITE)),
    # cases
    ("create case", lambda c, w, h: c.post(f"{R}/cases", headers=h,
     json={"title": "T", "incident_ids": [w.incident["id"]]}), _created(OWN_STATION_WRITE)),
    ("read case", _plain("GET", lambda w: f"{R}/cases/{w.case['id']}"), STAFF_READ),
    ("edit case", _with_etag("PATCH", lambda w: f"{R}/cases/{w.case['id']}", json={"title": "N"}),
     OWN_STATION_WRITE),
    ("write diary", _plain("POST", lambda w: f"{R}/cases/{w.case['id']}/diary",
     json={"entry_at": "2026-05-02T09:00:00Z", "text": "note"}), _created(OWN_STATION_WRITE)),
    ("read diary", _plain("GET", lambda w: f"{R}/cases/{w.case['id']}/diary"), STAFF_READ),
    # documents
    ("upload document", lambda c, w, h: c.post(f"{R}/documents", headers=h,
     params={"owner_type": "incident", "owner_id": w.incident["id"]},
     files={"file": ("n.txt", b"plain words", "text/plain")}), _created(OWN_STATION_WRITE)),
    ("read document", _plain("GET", lambda w: f"{R}/documents/{w.document['id']}"), STAFF_READ),
    ("download document", _plain("GET", lambda w: f"{R}/documents/{w.document['id']}/content"),
     FULL_READ_ONLY),
    ("edit document", _with_etag("PATCH", lambda w: f"{R}/documents/{w.document['id']}",
     json={"title": "T"}), OWN_STATION_WRITE),
    ("delete document", _with_etag("DELETE", lambda w: f"{R}/documents/{w.document['id']}",
     params={"reason": "mistake"}), _deleted(ADMIN_ONLY)),
    # audit
    ("verify audit", _plain("GET", lambda w: f"{R}/audit/verify"), ADMIN_ONLY),
    ("read audit", _plain("GET", lambda w: f"{R}/audit"), ADMIN_ONLY),
]  # fmt: skip


def _snapshot(client: TestClient, world: World) -> list[Any]:
    admin = ADMIN_HEADERS["h"]
    paths = {"incident": "incidents", "submitted": "incidents", "sealed": "incidents",
             "deleted": "incidents", "person": "persons", "case": "cases",
             "document": "documents"}  # fmt: skip
    state = [client.get(f"{R}/{paths[name]}/{item['id']}", headers=admin).json()
             for name, item in sorted(world.made.items())]  # fmt: skip
    if "incident" in world.made:
        state.append(client.get(inc(world) + "/persons", headers=admin).json())
    if "case" in world.made:
        state.append(client.get(f"{R}/cases/{world.case['id']}/diary", headers=admin).json())
    return state


@pytest.mark.parametrize("route", ROUTES, ids=[r[0] for r in ROUTES])
def test_access_matrix(client: TestClient, token_factory, route) -> None:
    name, call, expected = route

    def headers(role: str) -> dict[str, str]:
        kind, station, subject = ROLES[role]
        return token_factory.headers(roles=[kind], station_id=station, subject=subject)

    ADMIN_HEADERS["h"] = headers("admin")
    shared = World(client, headers)
    # Citizens are refused on every route here: their call makes what the route needs.
    assert call(client, shared, headers("citizen")).status_code == 403
    before = _snapshot(client, shared)
    for role, status in expected.items():
        # A call that succeeds in changing things gets a world of its own.
        changes = status < 400 and not name.startswith(("read", "list", "search", "incident p",
                                                       "download", "verify"))  # fmt: skip
        world = World(client, headers) if changes else shared
        response = call(client, world, headers(role))
        assert response.status_code == status, f"{name} as {role}: {response.text}"
        if role == "analyst" and response.status_code == 200 and name.startswith("read "):
            body = response.json()
            for masked in ("narrative", "given_name", "family_name", "original_filename"):
                assert masked not in body, f"{name}: {masked} shown to analyst"
    assert _snapshot(client, shared) == before, f"{name}: a refused call changed something"
