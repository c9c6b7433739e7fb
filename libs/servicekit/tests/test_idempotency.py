"""The request fingerprint behind Idempotency-Key replays."""

from servicekit.idempotency import fingerprint


def test_same_body_in_any_key_order_has_one_fingerprint() -> None:
    a = fingerprint("POST /x", {"a": 1, "b": [1, 2]})
    assert a == fingerprint("POST /x", {"b": [1, 2], "a": 1})
    assert a != fingerprint("POST /y", {"a": 1, "b": [1, 2]})
    assert a != fingerprint("POST /x", {"a": 2, "b": [1, 2]})


def test_secret_fields_never_enter_the_fingerprint() -> None:
    # A stored hash of a body must not become a fast hash of a password: two bodies that differ
    # only in the secret share a fingerprint, and it equals the body's without the secret.
    one = fingerprint(
        "POST /users", {"username": "u", "password": "p1"}, secret_fields={"password"}
    )
    two = fingerprint(
        "POST /users", {"username": "u", "password": "p2"}, secret_fields={"password"}
    )
    assert one == two == fingerprint("POST /users", {"username": "u"})
