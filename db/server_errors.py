"""One-line errors for a catalog on a database server (PostgreSQL): unreachable, login refused, no such
database, connection lost mid-run.

Each names the URL without its password and says what to do. A lost connection also says that nothing
committed is lost: every catalog write is one transaction, which the server rolls back when its
client goes away, so the catalog stays at a batch boundary and a re-run resumes from there.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from engine.base.errors import EngineError

_NO_DATABASE = re.compile(r'database "[^"]*" does not exist')
_LOGIN_REFUSED = ("password authentication failed", "no password supplied", "authentication failed", "pg_hba.conf")
_ROLE_MISSING = re.compile(r'role "[^"]*" does not exist')
_PREAMBLE = re.compile(r'^(connection failed: )?(connection to server (at|on) .*? failed: )?')


def display_url(url: str | URL) -> str:
    """The URL as shown to users: its password (if any) replaced by ***."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<invalid database URL>"
    return parsed.render_as_string(hide_password=True)


def server_reason(exc: BaseException) -> str:
    """The server's (or libpq's) own words: first line, without the 'connection to server at ... failed:' preamble."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    text = _PREAMBLE.sub("", lines[0] if lines else type(orig).__name__)
    return text.replace("FATAL:  ", "").strip() or type(orig).__name__


def connect_error(url: str | URL, exc: BaseException) -> EngineError:
    """The error for a first connection that failed: no such database, login refused, or server unreachable."""
    reason, where = server_reason(exc), display_url(url)
    if _NO_DATABASE.search(reason):
        name = make_url(url).database if isinstance(url, str) else url.database
        return EngineError(f"the catalog database {name!r} does not exist on the server of {where}; "
                           f"create it (`createdb {name}`, or CREATE DATABASE) or fix --db / $ENGINE_DB_URL")
    if _ROLE_MISSING.search(reason) or any(words in reason for words in _LOGIN_REFUSED):
        return EngineError(f"the server of the catalog {where} refused the login ({reason}); "
                           "check the user and password in --db / $ENGINE_DB_URL")
    return EngineError(f"cannot reach the catalog server of {where} ({reason}); "
                       "start it, or check the host and port in --db / $ENGINE_DB_URL")


def lost_connection(url: str | URL, exc: BaseException) -> EngineError:
    """The error for a server that went away (or cut the connection) after the run had connected."""
    return EngineError(f"lost the connection to the catalog {display_url(url)} ({server_reason(exc)}); "
                       "nothing committed is lost: re-run the same command once the server is back")
