"""Automatic checks: each histogram gets a verdict (Good, Medium, Bad or Null) and a message with the numbers.

Checks are data (``CheckSpec``): each subsystem declares defaults per histogram-name pattern and the TOML
``[checks]`` table can add, change or switch them off. The statistical checks follow ROOT's semantics so a
physicist gets the numbers ROOT would print: ``TH1::KolmogorovTest`` (binned, default options: no flow bins,
effective entries from the bin errors) and ``TH1::Chi2Test`` (option "UU": two unweighted histograms).
Both compare shapes, so the reference need not have the same number of entries.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from scipy.special import gammaincc

from overwatch_core.errors import ConfigError
from overwatch_core.model import Histogram

Quality = Literal["Good", "Medium", "Bad", "Null"]
QUALITIES: tuple[Quality, ...] = ("Good", "Medium", "Bad", "Null")
#: Worse is larger: a group or run shows its worst histogram. Null (no judgement possible) ranks below Good
#: so that one missing reference does not hide a Bad elsewhere, but a run with only Nulls shows Null.
SEVERITY: Mapping[Quality, int] = MappingProxyType({"Null": 0, "Good": 1, "Medium": 2, "Bad": 3})

KINDS = ("ks", "chi2", "min_entries", "empty", "mean_range", "hot_channels_max", "dead_fraction_max")


def worst(qualities: Iterable[Quality]) -> Quality:
    """The worst quality of several (Null when there are none)."""
    return max(qualities, key=lambda q: SEVERITY[q], default="Null")


@dataclass(frozen=True)
class CheckResult:
    check: str
    quality: Quality
    message: str


@dataclass(frozen=True)
class CheckSpec:
    """One check: its name (unique per subsystem, so TOML can replace it), kind, the histograms it applies to
    (a shell-style pattern on the name, or a plain substring), and its parameters."""

    name: str
    kind: str
    pattern: str = "*"
    params: Mapping[str, float] = field(default_factory=dict)
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"check {self.name!r}: unknown kind {self.kind!r}; valid: {', '.join(KINDS)}")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def applies(self, hist_name: str) -> bool:
        if any(c in self.pattern for c in "*?["):
            return fnmatch.fnmatchcase(hist_name, self.pattern)
        return self.pattern in hist_name

    def param(self, key: str, default: float) -> float:
        return float(self.params.get(key, default))

    def __reduce__(self) -> tuple[Any, ...]:
        return (CheckSpec, (self.name, self.kind, self.pattern, dict(self.params), self.enabled))


# --- ROOT's tests -------------------------------------------------------------------------------------------


def kolmogorov_prob(z: float) -> float:
    """ROOT's TMath::KolmogorovProb: the probability that a KS distance scaled by sqrt(n) exceeds ``z``."""
    u = abs(z)
    if u < 0.2:
        return 1.0
    if u < 0.755:
        v = 1.0 / (u * u)
        terms = sum(math.exp(c * v) for c in (-1.2337005501361697, -11.103304951225528, -30.842513753404244))
        return 1.0 - 2.50662827 * terms / u
    if u < 6.8116:
        v = u * u
        r = [0.0, 0.0, 0.0, 0.0]
        for j in range(max(1, round(3.0 / u))):
            r[j] = math.exp((-2.0, -8.0, -18.0, -32.0)[j] * v)
        return 2.0 * (r[0] - r[1] + r[2] - r[3])
    return 0.0


def ks_test(hist: Histogram, reference: Histogram) -> float:
    """ROOT's TH1::KolmogorovTest(reference) with default options, for 1D histograms of the same binning."""
    a, b = hist.values.astype(np.float64), reference.values.astype(np.float64)
    sum_a, sum_b = float(a.sum()), float(b.sum())
    w_a, w_b = float(hist.variances.sum()), float(reference.variances.sum())
    if sum_a == 0 or sum_b == 0:
        raise ValueError("an integral is zero")
    if w_a <= 0 and w_b <= 0:
        raise ValueError("both histograms have zero errors")
    distance = float(np.max(np.abs(np.cumsum(a) / sum_a - np.cumsum(b) / sum_b)))
    if w_a <= 0:
        z = distance * math.sqrt(sum_b * sum_b / w_b)
    elif w_b <= 0:
        z = distance * math.sqrt(sum_a * sum_a / w_a)
    else:
        e_a, e_b = sum_a * sum_a / w_a, sum_b * sum_b / w_b
        z = distance * math.sqrt(e_a * e_b / (e_a + e_b))
    return kolmogorov_prob(z)


def chi2_test(hist: Histogram, reference: Histogram) -> tuple[float, int, float]:
    """ROOT's TH1::Chi2Test(reference, "UU"): (χ², ndf, p) of two unweighted histograms of one binning.

    Bins empty in both are left out of the degrees of freedom, as ROOT does.
    """
    a, b = hist.values.astype(np.float64).ravel(), reference.values.astype(np.float64).ravel()
    sum_a, sum_b = float(a.sum()), float(b.sum())
    if sum_a == 0 or sum_b == 0:
        raise ValueError("an integral is zero")
    used = (a + b) != 0
    ndf = int(np.count_nonzero(used)) - 1
    if ndf < 1:
        raise ValueError("fewer than two bins with content")
    a, b = a[used], b[used]
    chi2 = float(np.sum((sum_b * a - sum_a * b) ** 2 / (a + b)) / (sum_a * sum_b))
    return chi2, ndf, float(gammaincc(ndf / 2.0, chi2 / 2.0))


# --- running checks -----------------------------------------------------------------------------------------


def _same_binning(hist: Histogram, reference: Histogram) -> str | None:
    """None when both have the same bins, else the reason a comparison is impossible."""
    if hist.values.shape != reference.values.shape:
        return f"binning differs from the reference ({hist.values.shape} vs {reference.values.shape} bins)"
    for axis, (mine, theirs) in enumerate(zip(hist.edges, reference.edges, strict=True)):
        if not np.allclose(mine, theirs):
            return f"bin edges of axis {axis} differ from the reference's"
    return None


def _by_p(spec: CheckSpec, p: float, text: str) -> CheckResult:
    bad_below, medium_below = spec.param("bad_below", 1e-3), spec.param("medium_below", 0.05)
    quality: Quality = "Good" if p >= medium_below else "Medium" if p >= bad_below else "Bad"
    return CheckResult(
        spec.name, quality, f"{text}, p = {p:.3g} (Medium below {medium_below:g}, Bad below {bad_below:g})"
    )


def _compare(
    spec: CheckSpec, hist: Histogram, reference: Histogram | None, ref_run: int | None
) -> CheckResult:
    if reference is None:
        return CheckResult(spec.name, "Null", "no reference run set for this subsystem")
    problem = _same_binning(hist, reference)
    if problem is not None:
        return CheckResult(spec.name, "Null", problem)
    against = f"vs reference run {ref_run}" if ref_run is not None else "vs the reference"
    try:
        if spec.kind == "ks":
            if hist.ndim != 1:
                return CheckResult(spec.name, "Null", f"KS is for 1D histograms, this one is {hist.ndim}D")
            return _by_p(spec, ks_test(hist, reference), f"KS {against}")
        chi2, ndf, p = chi2_test(hist, reference)
    except ValueError as exc:
        return CheckResult(spec.name, "Null", f"cannot compare {against}: {exc}")
    return _by_p(spec, p, f"χ²/ndf = {chi2:.4g}/{ndf} {against}")


def _hot_channels(spec: CheckSpec, hist: Histogram, n_events: float | None) -> CheckResult:
    if hist.ndim != 1:
        return CheckResult(spec.name, "Null", "hot channels are counted in 1D per-channel histograms")
    if n_events is None or not math.isfinite(n_events) or n_events <= 0:
        return CheckResult(spec.name, "Null", "no events to divide by")
    threshold = spec.param("threshold", 1e-2)
    hot = np.flatnonzero(hist.values / n_events > threshold)
    allowed = int(spec.param("max", 0))
    shown = ", ".join(str(i) for i in hot[:10]) + (", …" if hot.size > 10 else "")
    text = f"{hot.size} channels above {threshold:g} per event (at most {allowed})" + (
        f": {shown}" if hot.size else ""
    )
    return CheckResult(spec.name, "Bad" if hot.size > allowed else "Good", text)


def _dead_fraction(spec: CheckSpec, hist: Histogram, reference: Histogram | None) -> CheckResult:
    expected = np.ones(hist.values.shape, dtype=bool)
    if reference is not None and _same_binning(hist, reference) is None:
        expected = reference.values > 0  # channels that the reference run saw alive
    total = int(np.count_nonzero(expected))
    if total == 0:
        return CheckResult(spec.name, "Null", "no channels expected to be alive")
    dead = int(np.count_nonzero(expected & (hist.values == 0)))
    fraction, allowed = dead / total, spec.param("max", 0.1)
    quality: Quality = "Bad" if fraction > allowed else "Medium" if fraction > allowed / 2 else "Good"
    return CheckResult(
        spec.name, quality, f"{dead} of {total} channels dead ({fraction:.1%}, at most {allowed:.1%})"
    )


def _empty(spec: CheckSpec, entries: float, reference: Histogram | None) -> CheckResult:
    """Empty is Bad where the reference run filled the histogram, fine where it is empty there too (a
    LargeAmp histogram of a healthy detector), Medium without a reference to tell."""
    if entries != 0:
        return CheckResult(spec.name, "Good", f"{entries:.6g} in its bins")
    if reference is None:
        return CheckResult(spec.name, "Medium", "empty (no reference to tell whether it should be)")
    if float(np.sum(reference.values)) == 0:
        return CheckResult(spec.name, "Good", "empty, as in the reference run")
    return CheckResult(spec.name, "Bad", "empty, but filled in the reference run")


def run_check(
    spec: CheckSpec,
    hist: Histogram,
    reference: Histogram | None,
    n_events: float | None,
    ref_run: int | None = None,
) -> CheckResult:
    """One check on one histogram (``reference``: the same histogram of the reference run, if any)."""
    entries = float(np.sum(hist.values))
    if spec.kind in ("ks", "chi2"):
        return _compare(spec, hist, reference, ref_run)
    if spec.kind == "empty":
        return _empty(spec, entries, reference)
    if spec.kind == "min_entries":
        needed = spec.param("min", 100)
        enough = entries >= needed
        return CheckResult(
            spec.name, "Good" if enough else "Medium", f"{entries:.6g} entries (at least {needed:g})"
        )
    if spec.kind == "mean_range":
        from overwatch_core.subsystems.base import x_moments

        mean = x_moments(hist).mean
        low, high = spec.param("low", -math.inf), spec.param("high", math.inf)
        inside = low <= mean <= high
        return CheckResult(
            spec.name, "Good" if inside else "Bad", f"mean {mean:.6g} (allowed {low:g} to {high:g})"
        )
    if spec.kind == "hot_channels_max":
        return _hot_channels(spec, hist, n_events)
    return _dead_fraction(spec, hist, reference)


def evaluate(
    specs: Sequence[CheckSpec],
    hists: Mapping[str, Histogram],
    reference: Mapping[str, Histogram] | None,
    n_events: float | None,
    ref_run: int | None = None,
) -> dict[str, list[CheckResult]]:
    """Histogram name → the results of every enabled check that applies to it (names without any omitted)."""
    results: dict[str, list[CheckResult]] = {}
    enabled = [s for s in specs if s.enabled]
    for name in sorted(hists):
        hist = hists[name]
        for spec in (s for s in enabled if s.applies(name)):
            ref = None if reference is None else reference.get(name)
            result = run_check(spec, hist, ref, n_events, ref_run)
            if reference is not None and ref is None and spec.kind in ("ks", "chi2"):
                result = CheckResult(spec.name, "Null", f"the reference run {ref_run} has no {name}")
            results.setdefault(name, []).append(result)
    return results


def merged_specs(
    defaults: Sequence[CheckSpec], configured: Sequence[Mapping[str, Any]], subsystem: str
) -> tuple[CheckSpec, ...]:
    """The subsystem's default checks with the TOML entries applied: one with a default's name replaces its
    fields (``enabled = false`` switches it off), a new name adds a check."""
    by_name = {s.name: s for s in defaults}
    for entry in configured:
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"checks.{subsystem}: every check needs a name, got {dict(entry)!r}")
        base = by_name.get(name)
        fields = {"kind", "pattern", "enabled", "name"}
        params = {k: float(v) for k, v in entry.items() if k not in fields}
        kind = entry.get("kind", base.kind if base else None)
        if kind is None:
            raise ConfigError(f"checks.{subsystem}.{name}: a new check needs a kind ({', '.join(KINDS)})")
        by_name[name] = CheckSpec(
            name=name,
            kind=str(kind),
            pattern=str(entry.get("pattern", base.pattern if base else "*")),
            params={**(dict(base.params) if base else {}), **params},
            enabled=bool(entry.get("enabled", base.enabled if base else True)),
        )
    return tuple(by_name.values())
