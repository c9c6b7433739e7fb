"""Stationhouse auth service: users, roles, second factor, tokens, JWKS, lockout, audit."""
