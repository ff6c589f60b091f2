"""Where to send a user after login: the asked-for page when it is safe, else the run list."""

from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlsplit, urlunsplit

FALLBACK = "/"
#: Pages a login must not lead to: logging out again, or a download that leaves the user on the login page.
NEVER_NEXT = frozenset({"/login", "/logout", "/testing-data-archive", "/testingDataArchive"})


def safe_next(target: str | None, host_url: str) -> str:
    """``target`` as a path on this host when it is safe to redirect to, else ``/``.

    Safe means a path starting with one ``/`` or an http(s) URL of this very host, made only of
    printable ASCII (browsers drop tabs and newlines and read ``\\`` as ``/``, which would turn
    ``/\\evil`` into ``//evil``), and not one of NEVER_NEXT. The answer is always a relative
    path, so the scheme of the site is kept.
    """
    if not target or not all("!" <= c <= "~" and c != "\\" for c in target):
        return FALLBACK
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if not _same_host(target, parts.scheme, parts.netloc, host_url):
            return FALLBACK
    elif not target.startswith("/") or target.startswith("//"):
        return FALLBACK
    path = parts.path or "/"
    if path.startswith("//") or _normalised(path) in NEVER_NEXT:
        return FALLBACK
    return urlunsplit(("", "", path, parts.query, parts.fragment))


def _same_host(target: str, scheme: str, netloc: str, host_url: str) -> bool:
    """An absolute URL written out in full (``https:evil`` is not) whose host and port are ours."""
    if scheme not in ("http", "https") or not target.startswith(f"{scheme}://"):
        return False
    return netloc.lower() == urlsplit(host_url).netloc.lower()


def _normalised(path: str) -> str:
    """The path the server routes, so ``/%6cogout`` and ``/runs/../logout/`` count as ``/logout``."""
    return posixpath.normpath(unquote(path)).replace("//", "/")
