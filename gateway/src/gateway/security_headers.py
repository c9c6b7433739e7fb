"""Security headers on every answer: CSP (strict for the API, fitted to the UI), HSTS behind
TLS, no MIME sniffing, no framing."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Settings

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CDN = "https://cdn.jsdelivr.net"


def ui_csp(settings: Settings) -> str:
    tiles = settings.tile_origin()
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # Leaflet positions map panes with inline style attributes.
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob: {tiles}".strip(),
            "connect-src 'self'",
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def docs_csp() -> str:
    return (
        f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
        f"style-src 'self' 'unsafe-inline' {DOCS_CDN}; img-src 'self' data: "
        "https://fastapi.tiangolo.com; connect-src 'self'; frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.ui_csp = ui_csp(settings).encode()
        self.docs_csp = docs_csp().encode()
        self.hsts = f"max-age={settings.hsts_max_age}; includeSubDomains".encode()

    def _behind_tls(self, scope: Scope) -> bool:
        if self.settings.force_hsts or scope.get("scheme") == "https":
            return True
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-proto":
                proto: bytes = value.split(b",")[0].strip().lower()
                return proto == b"https"
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith("/api/"):
            csp = API_CSP.encode()
        elif path in ("/docs", "/redoc") or path.endswith("/docs"):
            csp = self.docs_csp
        else:
            csp = self.ui_csp
        tls = self._behind_tls(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-security-policy", csp),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)"),
                ]
                if tls:
                    extra.append((b"strict-transport-security", self.hsts))
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
