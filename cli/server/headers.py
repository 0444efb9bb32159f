"""Security headers on every response (the page, the API, the docs, the errors).

The Content-Security-Policy allows only this server's own origin: the page's script, style, thumbnails
and API calls all come from it; `blob:` images are the page's own object URLs of fetched thumbnails and
of the image being searched for. No inline script or style attribute runs; no other site may frame the
page. A response that sets its own CSP (the Swagger UI page at /docs, which needs its inline start-up
script, allowed by hash) keeps it.
"""

from __future__ import annotations

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def csp_with_scripts(*hashes: str) -> str:
    """`CSP` that also runs the inline scripts with these base64 sha256 hashes."""
    allowed = " ".join(f"'sha256-{h}'" for h in hashes)
    return CSP.replace("script-src 'self'", f"script-src 'self' {allowed}")


class SecurityHeaders:
    """ASGI middleware: `HEADERS` added to every HTTP response that does not already set them."""

    def __init__(self, app) -> None:
        self.app = app
        self.extra = [(name.encode(), value.encode()) for name, value in HEADERS.items()]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", [])) + [(n, v) for n, v in self.extra if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
