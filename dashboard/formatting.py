"""Small text helpers shared by pages: times in the configured zone, with the zone named."""

from __future__ import annotations

from datetime import datetime


def when(moment: datetime | None, zone_name: str) -> str:
    """``Tuesday, 24 Nov 2015 18:05:10 (Europe/Zurich)`` or a dash when unknown."""
    if moment is None:
        return "–"
    return f"{moment.strftime('%A, %d %b %Y %H:%M:%S')} ({zone_name})"


def short_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def parse_int(text: object, name: str, *, minimum: int = 0) -> tuple[int | None, str | None]:
    """A query value as an int, or None with a notice saying it was ignored."""
    if text is None or text == "":
        return None, None
    try:
        value = int(str(text))
    except ValueError:
        return None, f"Ignored {name}={text!r}: not a whole number."
    if value < minimum:
        return None, f"Ignored {name}={value}: must be at least {minimum}."
    return value, None
