"""The hash chain: appends link, verification finds the first edited or removed row."""

import threading

from sqlalchemy import create_engine, text, update
from sqlalchemy.orm import Session

from servicekit.audit import GENESIS_HASH, append_audit, verify_audit_chain
from servicekit.db import Database, normalize_url

from .conftest import AuditEntry  # type: ignore[import-not-found]


def _append(session: Session, n: int) -> None:
    for i in range(n):
        append_audit(
            session,
            AuditEntry,
            actor="u1",
            actor_roles=["officer"],
            action="incident.read",
            target_type="incident",
            target_id=str(i),
            details={"i": i},
        )


def test_chain_links_and_verifies(database_url: str) -> None:
    database = Database(database_url)
    with database.session() as session:
        _append(session, 5)
    with database.session() as session:
        result = verify_audit_chain(session, AuditEntry)
        first = session.get(AuditEntry, 1)
        assert first is not None
        assert first.prev_hash == GENESIS_HASH
    assert result.ok
    assert result.checked == 5
    database.dispose()


def test_editing_a_row_names_that_row(database_url: str) -> None:
    database = Database(database_url)
    with database.session() as session:
        _append(session, 6)
    engine = create_engine(normalize_url(database_url))
    with engine.begin() as conn:
        conn.execute(update(AuditEntry).where(AuditEntry.id == 4).values(actor="someone-else"))
    engine.dispose()
    with database.session() as session:
        result = verify_audit_chain(session, AuditEntry)
    assert not result.ok
    assert result.first_broken_id == 4
    database.dispose()


def test_deleting_a_row_breaks_the_chain_after_it(database_url: str) -> None:
    database = Database(database_url)
    with database.session() as session:
        _append(session, 4)
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE id = 2"))
    with database.session() as session:
        result = verify_audit_chain(session, AuditEntry)
    assert result.first_broken_id == 3
    database.dispose()


def test_concurrent_appenders_never_fork_the_chain(database_url: str) -> None:
    database = Database(database_url)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                with database.session() as session:
                    _append(session, 1)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.session() as session:
        result = verify_audit_chain(session, AuditEntry)
    assert result.ok
    assert result.checked == 40
    database.dispose()


def test_audit_from_a_read_transaction_is_kept(database_url: str) -> None:
    database = Database(database_url)
    with database.session(write=False) as session:
        _append(session, 1)
    with database.session() as session:
        assert verify_audit_chain(session, AuditEntry).checked == 1
    database.dispose()
