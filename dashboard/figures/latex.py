"""ROOT TLatex (``p_{T}``, ``#gamma``) as the text-with-tags Plotly renders, escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_GREEK_NAMES = (
    *("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"),
    *("nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"),
)
_GREEK = {
    **dict(zip(_GREEK_NAMES, "αβγδεζηθικλμνξοπρστυφχψω", strict=True)),
    **dict(zip((n.capitalize() for n in _GREEK_NAMES), "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ", strict=True)),
    "varepsilon": "ε",
    "vartheta": "ϑ",
    "varphi": "ϕ",
    "varsigma": "ς",
}
_SYMBOLS = {
    **_GREEK,
    "pm": "±",
    "mp": "∓",
    "times": "×",
    "cdot": "·",
    "bullet": "•",
    "div": "÷",
    "leq": "≤",
    "geq": "≥",
    "neq": "≠",
    "approx": "≈",
    "sim": "∼",
    "equiv": "≡",
    "propto": "∝",
    "infty": "∞",
    "partial": "∂",
    "nabla": "∇",
    "rightarrow": "→",
    "leftarrow": "←",
    "leftrightarrow": "↔",
    "Rightarrow": "⇒",
    "Leftarrow": "⇐",
    "Leftrightarrow": "⇔",
    "uparrow": "↑",
    "downarrow": "↓",
    "circ": "°",
    "degree": "°",
    "prime": "′",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "perp": "⊥",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "cap": "∩",
    "cup": "∪",
    "forall": "∀",
    "exists": "∃",
    "oplus": "⊕",
    "otimes": "⊗",
    "hbar": "ħ",
    "ell": "ℓ",
    "AA": "Å",
    "aa": "å",
    "dots": "…",
    "ldots": "…",
    "LT": "&lt;",
    "GT": "&gt;",
    "left": "",
    "right": "",
}
#: Accents are combining characters after a single letter; longer arguments are left plain.
_ACCENTS = {
    "bar": "\u0304",
    "hat": "\u0302",
    "tilde": "\u0303",
    "vec": "\u20d7",
    "dot": "\u0307",
    "slash": "\u0338",
}
_WORD = re.compile(r"[A-Za-z]+")
_TAG = re.compile(r"<[^>]*>")
_COMPOSITE = re.compile(r"[\s+\-/*×·−]")


def root_text(text: str) -> str:
    """ROOT TLatex (``p_{T}``, ``#gamma``, ``#it{c}``) as the text-with-tags Plotly renders.

    Detector groups wrote their titles for ROOT; shown raw they read ``M_{#gamma#gamma}``. ``<``, ``>``
    and ``&`` of the input are escaped before any tag is added, so a title can never inject markup. A
    bare ``_`` stays literal (histogram names are full of them); ``_{…}`` and ``^{…}`` or ``^2`` are
    scripts. Unknown ``#word`` commands lose only their ``#``.
    """
    return _TLatex(text).parse(closing=False)


class _TLatex:
    """A small recursive-descent reader of TLatex: groups, scripts and ``#`` commands."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self, closing: bool) -> str:
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "}":
                self.pos += 1
                if closing:
                    return "".join(out)
            elif char == "{":
                self.pos += 1
                out.append(self.parse(closing=True))
            elif char == "#":
                out.append(self._command())
            elif char in "_^":
                out.append(self._script(char))
            else:
                out.append(html.escape(char, quote=False))
                self.pos += 1
        return "".join(out)

    def _command(self) -> str:
        match = _WORD.match(self.text, self.pos + 1)
        if match is None:  # "# of cells", "##"
            self.pos += 2 if self.text.startswith("##", self.pos) else 1
            return "#"
        name = match.group()
        self.pos = match.end()
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        if name in _ONE_ARGUMENT:
            return _ONE_ARGUMENT[name](self._argument())
        if name in _TWO_ARGUMENTS:
            first = self._argument()
            return _TWO_ARGUMENTS[name](first, self._argument())
        return name

    def _argument(self) -> str:
        """The ``{…}`` after a command, skipping a ``[…]`` option (``#font[42]{…}``); empty if absent."""
        if self.text.startswith("[", self.pos):
            end = self.text.find("]", self.pos)
            self.pos = len(self.text) if end < 0 else end + 1
        if not self.text.startswith("{", self.pos):
            return ""
        self.pos += 1
        return self.parse(closing=True)

    def _script(self, kind: str) -> str:
        tag = "sub" if kind == "_" else "sup"
        self.pos += 1
        nxt = self.text[self.pos : self.pos + 1]
        if nxt == "{":
            self.pos += 1
            content = self.parse(closing=True)
        elif kind == "^" and nxt == "#":
            content = self._command()
        elif kind == "^" and nxt and not nxt.isspace():
            content = html.escape(nxt, quote=False)
            self.pos += 1
        else:
            return kind
        return f"<{tag}>{content}</{tag}>"


def _visible(markup: str) -> str:
    return html.unescape(_TAG.sub("", markup))


def _grouped(markup: str) -> str:
    """Parenthesise a composite argument (``#sqrt{a+b}`` → √(a+b)) so dropping ROOT's bar stays correct."""
    return f"({markup})" if _COMPOSITE.search(_visible(markup)) else markup


def _accent(mark: str) -> Callable[[str], str]:
    return lambda arg: arg + mark if len(_visible(arg)) == 1 else arg


_ONE_ARGUMENT: dict[str, Callable[[str], str]] = {
    "it": lambda arg: arg,
    "bf": lambda arg: f"<b>{arg}</b>" if arg else "",
    "sqrt": lambda arg: f"√{_grouped(arg)}",
    "mathrm": lambda arg: arg,
    "font": lambda arg: arg,
    "color": lambda arg: arg,
    "scale": lambda arg: arg,
    "kern": lambda arg: arg,
    "lower": lambda arg: arg,
    "mbox": lambda arg: arg,
    **{name: _accent(mark) for name, mark in _ACCENTS.items()},
}
_TWO_ARGUMENTS: dict[str, Callable[[str, str], str]] = {
    "frac": lambda num, den: f"{_grouped(num)}/{_grouped(den)}",
    "splitline": lambda top, bottom: f"{top}<br>{bottom}",
}
