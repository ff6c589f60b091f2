"""Trend alarms: the five kinds of the original Overwatch, And/Or of them, and building them from config."""

from __future__ import annotations

import dataclasses
import statistics
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from overwatch_core.errors import ConfigError

__all__ = [
    "ALARM_KINDS",
    "AbsolutePreviousValue",
    "Alarm",
    "AlarmResult",
    "And",
    "BetweenValues",
    "CheckLastN",
    "MeanInRange",
    "Or",
    "RelativePreviousValue",
    "alarm_from_config",
    "alarms_from_config",
    "evaluate",
]


@dataclass(frozen=True)
class AlarmResult:
    """Verdict of one alarm on the newest value of a trend; the message is empty when all is well."""

    alarmed: bool
    message: str = ""


_OK = AlarmResult(alarmed=False)


def _fmt(value: float) -> str:
    """Numbers as a shifter reads them: 105 rather than 105.0, and never twenty digits."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.6g}"


@dataclass(frozen=True, kw_only=True)
class Alarm(ABC):
    """Base of every alarm kind; alarms are stateless, so one instance may watch any number of trends.

    ``label`` is the original's alarmText (e.g. "ERROR", "WARNING") and prefixes every message.
    """

    label: str = ""

    def check(self, values: Sequence[float]) -> AlarmResult:
        """Judge the newest value (the last one) given the whole series so far."""
        return self._result(self._problem(values))

    def bounds(self) -> tuple[float, float] | None:
        """Fixed thresholds to draw on a trend plot, for the kinds that have them."""
        return None

    @abstractmethod
    def _problem(self, values: Sequence[float]) -> str | None:
        """What is wrong with the newest value, or None when nothing is."""

    def _result(self, problem: str | None) -> AlarmResult:
        if problem is None:
            return _OK
        return AlarmResult(alarmed=True, message=f"[{self.label}] {problem}" if self.label else problem)

    def _require(self, condition: bool, problem: str) -> None:
        """Reject a bad parameter; conditions are written positively so that NaN fails them too."""
        if not condition:
            raise ConfigError(f"{type(self).__name__} {problem}")


_DEFAULT_CENTER = 50.0
_DEFAULT_DISTANCE = 50.0


@dataclass(frozen=True, kw_only=True)
class BetweenValues(Alarm):
    """Alarm when the newest value leaves [min_value, max_value]; the bounds themselves are fine.

    The range is min_value..max_value or center_value ± max_distance (50 ± 50 by default). As in the
    original, a bound left out comes from the centre and distance, so ``min_value=10`` alone means [10, 100].
    """

    center_value: float | None = None
    max_distance: float | None = None
    min_value: float | None = None
    max_value: float | None = None

    def __post_init__(self) -> None:
        both_bounds = self.min_value is not None and self.max_value is not None
        centred = self.center_value is not None or self.max_distance is not None
        self._require(not (both_bounds and centred),
                      "takes center_value/max_distance or min_value/max_value, not both")
        distance = self.max_distance
        self._require(distance is None or distance >= 0, f"max_distance must be >= 0, got {distance}")
        low, high = self.bounds()
        self._require(low <= high, f"min_value {_fmt(low)} is above max_value {_fmt(high)}")

    def bounds(self) -> tuple[float, float]:
        """The resolved [min, max] range; always defined for this kind."""
        center = _DEFAULT_CENTER if self.center_value is None else self.center_value
        distance = _DEFAULT_DISTANCE if self.max_distance is None else self.max_distance
        low = center - distance if self.min_value is None else self.min_value
        high = center + distance if self.max_value is None else self.max_value
        return low, high

    def _problem(self, values: Sequence[float]) -> str | None:
        if len(values) == 0:
            return None
        low, high = self.bounds()
        value = values[-1]
        if low <= value <= high:
            return None
        return f"value {_fmt(value)} outside [{_fmt(low)}, {_fmt(high)}]"


@dataclass(frozen=True, kw_only=True)
class CheckLastN(Alarm):
    """Alarm when fewer than ratio·n of the last n values lie strictly inside (min_value, max_value).

    Nothing is judged before n values exist. Unlike BetweenValues the bounds are excluded, as in the original.
    """

    min_value: float = 0.0
    max_value: float = 100.0
    ratio: float = 0.6
    n: int = 5

    def __post_init__(self) -> None:
        self._require(self.n >= 1, f"n must be >= 1, got {self.n}")
        self._require(0 < self.ratio <= 1, f"ratio must be in (0, 1], got {self.ratio}")
        self._require(self.min_value < self.max_value,
                      f"min_value {_fmt(self.min_value)} must be below max_value {_fmt(self.max_value)}")

    def _problem(self, values: Sequence[float]) -> str | None:
        if len(values) < self.n:
            return None
        inside = sum(1 for value in values[-self.n:] if self.min_value < value < self.max_value)
        if inside >= self.ratio * self.n:
            return None
        return (f"only {inside} of the last {self.n} values inside ({_fmt(self.min_value)}, "
                f"{_fmt(self.max_value)}), at least {_fmt(self.ratio * 100)}% needed")


@dataclass(frozen=True, kw_only=True)
class MeanInRange(Alarm):
    """Alarm when the mean of the last n values is not strictly inside (min_value, max_value).

    Nothing is judged before n values exist; a mean exactly on a bound alarms, as in the original.
    """

    min_value: float = 0.0
    max_value: float = 100.0
    n: int = 5

    def __post_init__(self) -> None:
        self._require(self.n >= 1, f"n must be >= 1, got {self.n}")
        self._require(self.min_value < self.max_value,
                      f"min_value {_fmt(self.min_value)} must be below max_value {_fmt(self.max_value)}")

    def _problem(self, values: Sequence[float]) -> str | None:
        if len(values) < self.n:
            return None
        mean = statistics.fmean(values[-self.n:])
        if self.min_value < mean < self.max_value:
            return None
        return (f"mean {_fmt(mean)} of the last {self.n} values outside "
                f"({_fmt(self.min_value)}, {_fmt(self.max_value)})")


@dataclass(frozen=True, kw_only=True)
class AbsolutePreviousValue(Alarm):
    """Alarm when the newest value differs from the previous one by more than max_delta."""

    max_delta: float = 1.0

    def __post_init__(self) -> None:
        self._require(self.max_delta >= 0, f"max_delta must be >= 0, got {self.max_delta}")

    def _problem(self, values: Sequence[float]) -> str | None:
        if len(values) < 2:
            return None
        previous, current = values[-2], values[-1]
        if abs(current - previous) <= self.max_delta:
            return None
        return (f"value {_fmt(current)} changed by {_fmt(abs(current - previous))} from previous "
                f"{_fmt(previous)}, more than {_fmt(self.max_delta)}")


@dataclass(frozen=True, kw_only=True)
class RelativePreviousValue(Alarm):
    """Alarm when the newest value is not within a factor ``ratio`` of the previous one, with the same sign.

    A change of sign always alarms, and after a previous value of 0 only 0 itself is accepted.
    """

    ratio: float = 2.0

    def __post_init__(self) -> None:
        self._require(self.ratio > 1, f"ratio must be > 1, got {self.ratio}")

    def _problem(self, values: Sequence[float]) -> str | None:
        if len(values) < 2:
            return None
        previous, current = values[-2], values[-1]
        low, high = self._allowed(previous)
        if low <= current <= high:
            return None
        return (f"value {_fmt(current)} outside [{_fmt(low)}, {_fmt(high)}], more than a factor "
                f"{_fmt(self.ratio)} from previous {_fmt(previous)}")

    def _allowed(self, previous: float) -> tuple[float, float]:
        """The original's |prev|/ratio..|prev|·ratio, mirrored to negative values after a negative one."""
        low, high = abs(previous) / self.ratio, abs(previous) * self.ratio
        return (-high, -low) if previous < 0 else (low, high)


@dataclass(frozen=True, kw_only=True)
class _Aggregate(Alarm):
    """Common part of And and Or: children judged together, alarmed children's messages joined."""

    children: tuple[Alarm, ...]

    def __post_init__(self) -> None:
        self._require(len(self.children) > 0, "children must not be empty")

    def combine(self, results: Sequence[AlarmResult]) -> AlarmResult:
        """Join one round of results, one per child in order, e.g. of children watching different trends.

        This is the original's round: the aggregate is judged only when every child has a verdict.
        """
        if len(results) != len(self.children):
            raise ValueError(f"{len(results)} results for {len(self.children)} children")
        return self._result(self._joined(results))

    def _problem(self, values: Sequence[float]) -> str | None:
        return self._joined([child.check(values) for child in self.children])

    def _joined(self, results: Sequence[AlarmResult]) -> str | None:
        messages = [result.message for result in results if result.alarmed]
        if not self._fires(len(messages), len(results)):
            return None
        return f"{len(messages)} of {len(results)} alarmed: " + "; ".join(messages)

    @abstractmethod
    def _fires(self, alarmed: int, total: int) -> bool:
        """Whether this many alarmed children out of total alarm the aggregate."""


@dataclass(frozen=True, kw_only=True)
class And(_Aggregate):
    """Alarm when every child alarms."""

    def _fires(self, alarmed: int, total: int) -> bool:
        return alarmed == total


@dataclass(frozen=True, kw_only=True)
class Or(_Aggregate):
    """Alarm when any child alarms."""

    def _fires(self, alarmed: int, total: int) -> bool:
        return alarmed > 0


#: Configuration name of every alarm kind.
ALARM_KINDS: dict[str, type[Alarm]] = {
    "between_values": BetweenValues,
    "check_last_n": CheckLastN,
    "mean_in_range": MeanInRange,
    "absolute_previous_value": AbsolutePreviousValue,
    "relative_previous_value": RelativePreviousValue,
    "and": And,
    "or": Or,
}


def evaluate(alarms: Sequence[Alarm], values: Sequence[float]) -> list[AlarmResult]:
    """Judge the newest value of one trend with each of its alarms."""
    return [alarm.check(values) for alarm in alarms]


def alarms_from_config(config: Mapping[str, object]) -> dict[str, tuple[Alarm, ...]]:
    """Build the alarms of every trend from a table of trend name → list of alarm tables."""
    return {trend: _alarm_list(tables, f"alarms.{trend}") for trend, tables in config.items()}


def alarm_from_config(config: object, where: str = "alarm") -> Alarm:
    """Build one alarm from plain (TOML) data; ``where`` names it in errors so users find the table."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"{where}: an alarm must be a table, got {type(config).__name__}")
    kind = config.get("kind")
    cls = ALARM_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        problem = "missing 'kind'" if kind is None else f"unknown kind {kind!r}"
        raise ConfigError(f"{where}: {problem}; valid kinds: {', '.join(ALARM_KINDS)}")
    _check_parameter_names(cls, config, f"{where} ({kind})")
    params: dict[str, Any] = {
        name: _CONVERTERS[name](value, f"{where}.{name}") for name, value in config.items() if name != "kind"
    }
    try:
        return cls(**params)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from err


def _alarm_list(tables: object, where: str) -> tuple[Alarm, ...]:
    if not isinstance(tables, Sequence) or isinstance(tables, str):
        raise ConfigError(f"{where}: expected a list of alarm tables, got {type(tables).__name__}")
    return tuple(alarm_from_config(table, f"{where}[{i}]") for i, table in enumerate(tables))


def _check_parameter_names(cls: type[Alarm], config: Mapping[Any, object], where: str) -> None:
    fields = dataclasses.fields(cls)
    valid = sorted(f.name for f in fields)
    unknown = [str(name) for name in config if name != "kind" and name not in valid]
    if unknown:
        raise ConfigError(f"{where}: unknown parameter {unknown[0]!r}; valid: {', '.join(valid)}")
    required = [f.name for f in fields if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    missing = [name for name in required if name not in config]
    if missing:
        raise ConfigError(f"{where}: missing parameter {missing[0]!r}; valid: {', '.join(valid)}")


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    return float(value)


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, got {value!r}")
    return value


#: How each parameter of any alarm kind is read from configuration data.
_CONVERTERS: dict[str, Callable[[object, str], object]] = {
    "label": _text,
    "center_value": _number,
    "max_distance": _number,
    "min_value": _number,
    "max_value": _number,
    "ratio": _number,
    "max_delta": _number,
    "n": _count,
    "children": _alarm_list,
}
