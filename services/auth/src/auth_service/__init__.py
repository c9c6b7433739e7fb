"""Stationhouse auth service: Users, roles, second factor, tokens, JWKS, lockout and the sign-in audit trail."""
