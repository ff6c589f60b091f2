"""Merging blocks of bins until a histogram fits the figure's cell budget (labelled axes stay)."""

from __future__ import annotations

import math

import numpy as np

from overwatch_core.model import FloatArray, Histogram, ProfileSums


def downsample(hist: Histogram, budget: int) -> tuple[Histogram, tuple[int, ...]]:
    """``hist`` with blocks of bins merged until it has at most ``budget`` bins, and the factor per axis.

    A 2000×2000 map costs the browser 26 MB of JSON (stack notes §5); merged blocks keep the picture and
    the totals. Counts and variances are summed; profiles are averaged, weighted by their entries when the
    raw sums are known. Factors are whole numbers, preferably dividing the bin count; otherwise the last
    block of an axis is narrower, and its edges say so. Factors of 1 mean nothing was merged. An axis with
    bin labels is never merged (a block has no one label); such axes are short, and the others make room.
    """
    if budget < 1:
        raise ValueError(f"the cell budget must be at least 1, got {budget}")
    labelled = tuple(bool(hist.axis_labels(axis)) for axis in range(hist.ndim))
    factors = _factors(hist.values.shape, budget, labelled)
    if all(f == 1 for f in factors):
        return hist, factors
    merged = hist
    for axis, factor in enumerate(factors):
        if factor > 1:
            merged = _merge_axis(merged, axis, factor)
    return merged, factors


def _factors(shape: tuple[int, ...], budget: int, fixed: tuple[bool, ...]) -> tuple[int, ...]:
    """Grow the factor of the free axis with the most remaining bins until the product fits the budget.

    ``fixed`` axes keep factor 1; when they alone exceed the budget, the free axes merge down to one bin.
    """
    factors = [1] * len(shape)
    free = [a for a in range(len(shape)) if not fixed[a]]

    def remaining(axis: int) -> int:
        return -(-shape[axis] // factors[axis])

    while math.prod(remaining(a) for a in range(len(shape))) > budget:
        growing = [a for a in free if remaining(a) > 1]
        if not growing:
            break
        widest = max(growing, key=remaining)
        factors[widest] += 1
    return tuple(_divisor_near(n, f) for n, f in zip(shape, factors, strict=True))


def _divisor_near(n: int, factor: int) -> int:
    """A factor up to half again as large that divides ``n`` evenly, so all merged bins are alike."""
    return next((d for d in range(factor, factor + factor // 2 + 1) if n % d == 0), factor)


def _merge_axis(hist: Histogram, axis: int, factor: int) -> Histogram:
    n = hist.values.shape[axis]
    starts = np.arange(0, n, factor)
    edges = list(hist.edges)
    edges[axis] = np.append(hist.edges[axis][starts], hist.edges[axis][-1])

    def block_sum(array: FloatArray) -> FloatArray:
        return np.add.reduceat(array, starts, axis=axis)

    if hist.profile is not None:
        sums = ProfileSums(
            *(block_sum(a) for a in (hist.profile.sum_w, hist.profile.sum_wy, hist.profile.sum_wy2))
        )
        values, variances = _profile_means(sums)
        return hist.replace(values=values, variances=variances, edges=tuple(edges), profile=sums)
    if is_profile(hist):
        sizes = block_sum(np.ones_like(hist.values))
        return hist.replace(
            values=block_sum(hist.values) / sizes,
            variances=block_sum(hist.variances) / sizes**2,
            edges=tuple(edges),
        )
    return hist.replace(
        values=block_sum(hist.values), variances=block_sum(hist.variances), edges=tuple(edges)
    )


def _profile_means(sums: ProfileSums) -> tuple[FloatArray, FloatArray]:
    """Bin means and squared errors from the raw sums, ROOT's default error option (as time slices do)."""
    filled = sums.sum_w > 0
    weights = np.where(filled, sums.sum_w, 1.0)
    mean = np.where(filled, sums.sum_wy / weights, 0.0)
    spread = np.clip(sums.sum_wy2 / weights - mean**2, 0.0, None)
    return mean, np.where(filled, spread / weights, 0.0)


def is_profile(hist: Histogram) -> bool:
    return hist.profile is not None or hist.root_class.startswith("TProfile")
