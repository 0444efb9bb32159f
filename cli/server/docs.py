"""OpenAPI docs at /docs that work offline: Swagger UI's own files from the `swagger-ui-bundle` package.

FastAPI's default /docs page loads Swagger UI from a CDN, which a museum's closed network (or this
project's machines) cannot reach; /openapi.json needs nothing outside in any case.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from cli.server.headers import csp_with_scripts

logger = logging.getLogger(__name__)

ASSETS = "/docs-assets"


def install_docs(app: FastAPI) -> None:
    """/docs: Swagger UI served by the package; without swagger-ui-bundle, a one-line pointer to /openapi.json."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        logger.info("swagger-ui-bundle is not installed: /docs points to /openapi.json (pip install 'artwork-engine[serve]')")
        app.add_api_route("/docs", _no_ui, include_in_schema=False, methods=["GET"])
        return
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")
    app.add_api_route("/docs", _swagger_page(app.title), include_in_schema=False, methods=["GET"])


def _swagger_page(title: str):
    html = get_swagger_ui_html(openapi_url="/openapi.json", title=f"{title}: API",
                               swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
                               swagger_favicon_url=f"{ASSETS}/favicon-32x32.png").body
    csp = csp_with_scripts(*inline_script_hashes(html.decode()))

    async def page() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    return page


def inline_script_hashes(html: str) -> list[str]:
    """The base64 sha256 of each inline <script> of `html`, as a CSP names them."""
    bodies = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    return [base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() for body in bodies]


async def _no_ui() -> PlainTextResponse:
    return PlainTextResponse("The API is described at /openapi.json (install swagger-ui-bundle for this page).")
