"""Alarm kinds against the original Overwatch's golden sequences, and alarms built from configuration."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import pytest

from overwatch_core.alarms import (
    ALARM_KINDS,
    AbsolutePreviousValue,
    Alarm,
    AlarmResult,
    And,
    BetweenValues,
    CheckLastN,
    MeanInRange,
    Or,
    RelativePreviousValue,
    alarm_from_config,
    alarms_from_config,
    evaluate,
)
from overwatch_core.errors import ConfigError

Golden = list[tuple[float, bool]]


def replay(alarm: Alarm, values: Sequence[float]) -> list[bool]:
    """Feed a series one value at a time, as ingest does, noting whether each newest value alarmed."""
    return [alarm.check(values[: i + 1]).alarmed for i in range(len(values))]


def assert_golden(alarm: Alarm, golden: Golden) -> None:
    values = [value for value, _ in golden]
    assert replay(alarm, values) == [alarmed for _, alarmed in golden]


# Golden sequences: (new value, alarmed on it), value for value from the original's test_alarms.py.
BETWEEN_GOLDEN: Golden = [
    (3, False), (-10, True), (17, False), (0, False), (105, True), (100, False), (44, False), (-1, True),
    (101, True),
]
RELATIVE_GOLDEN: Golden = [
    (6, False), (7, False), (14, False), (7, False), (15, True), (16, False), (7, True), (0.1, True),
    (0, True), (-0.1, True), (2, True), (-2, True), (-1, False), (-2, False), (-4, False), (-1, True),
    (-3, True), (-6, False),
]
ABSOLUTE_GOLDEN: Golden = [
    (34, False), (33, False), (35, False), (32, False), (36, True), (30, True), (29, False), (10, True),
    (9, False), (15, True), (0, True), (-1, False), (1, False), (0, False), (-17, True), (-15, False),
    (-9, True),
]
MEAN_IN_RANGE_GOLDEN: Golden = [
    (10, False), (3, False), (-1, False), (2, False), (5, False), (30, False), (20, True), (1, True),
    (-10, False), (100, True), (0, True), (0, True), (-10, True), (-2, True), (20, False),
]
CHECK_LAST_N_GOLDEN: Golden = [
    (10, False), (8, False), (4, False), (2, False), (-20, False), (-10, False), (12, True), (1, True),
    (1, True), (2, False), (0, False), (-2, False), (-4, True), (10, True),
]


@pytest.mark.parametrize(
    "alarm",
    [BetweenValues(center_value=50.0, max_distance=50.0), BetweenValues(min_value=0.0, max_value=100.0)],
    ids=["centre-distance", "min-max"],
)
def test_between_values_golden(alarm: BetweenValues) -> None:
    assert_golden(alarm, BETWEEN_GOLDEN)


def test_relative_previous_value_golden() -> None:
    assert_golden(RelativePreviousValue(ratio=2.0), RELATIVE_GOLDEN)


def test_absolute_previous_value_golden() -> None:
    assert_golden(AbsolutePreviousValue(max_delta=3.0), ABSOLUTE_GOLDEN)


def test_mean_in_range_golden() -> None:
    assert_golden(MeanInRange(min_value=0, max_value=10), MEAN_IN_RANGE_GOLDEN)


def test_check_last_n_golden() -> None:
    assert_golden(CheckLastN(min_value=0, max_value=10, ratio=0.6), CHECK_LAST_N_GOLDEN)


def round_result(aggregate: And | Or, *results: AlarmResult) -> bool:
    return aggregate.combine(results).alarmed


def test_and_of_alarms_on_two_trends() -> None:
    """The original's testManyTrendingObjectToOneAlarm: the And is judged once both trends have reported."""
    ba1 = BetweenValues(min_value=10, max_value=30, label="ba1")
    ba2 = BetweenValues(min_value=40, max_value=50, label="ba2")
    both = And(children=(ba1, ba2), label="andAlarm")
    rounds = [(1, 2, True), (3, 45, False), (25, 4, False), (26, 46, False), (100, 200, True),
              (400, 300, True)]
    trend1: list[float] = []
    trend2: list[float] = []
    for value1, value2, expected in rounds:
        trend1.append(value1)
        trend2.append(value2)
        assert round_result(both, ba1.check(trend1), ba2.check(trend2)) is expected, (value1, value2)


def test_two_alarms_on_one_trend() -> None:
    """The original's testOneTrendingObjectToManyAlarm: alarms on one trend are independent."""
    alarms = [BetweenValues(min_value=20, max_value=50, label="warning"),
              BetweenValues(min_value=30, max_value=40, label="error")]
    steps = [(35, 0), (30, 0), (40, 0), (25, 1), (45, 1), (15, 2), (55, 2)]
    trend: list[float] = []
    for value, expected in steps:
        trend.append(value)
        assert sum(result.alarmed for result in evaluate(alarms, trend)) == expected, value


def test_nested_and_or_on_two_trends() -> None:
    """The original's testManyTrendingObjectToManyAlarm: any error, or the warnings of both trends."""
    error1, error2 = (BetweenValues(min_value=20, max_value=50, label=f"errorTO{i}") for i in (1, 2))
    warning1, warning2 = (BetweenValues(min_value=30, max_value=40, label=f"warningTO{i}") for i in (1, 2))
    warnings = And(children=(warning1, warning2), label="AndWarning")
    errors = Or(children=(error1, error2), label="OrError")
    root = Or(children=(warnings, errors), label="RootAlarm")
    rounds = [(35, 36, False), (41, 30, False), (42, 29, True), (53, 35, True), (17, 45, True),
              (54, 18, True)]
    trend1: list[float] = []
    trend2: list[float] = []
    for value1, value2, expected in rounds:
        for _ in range(2):  # the original fed each pair twice, in both orders
            trend1.append(value1)
            trend2.append(value2)
            both_warned = warnings.combine([warning1.check(trend1), warning2.check(trend2)])
            any_error = errors.combine([error1.check(trend1), error2.check(trend2)])
            assert round_result(root, both_warned, any_error) is expected, (value1, value2)


EXAMPLE_VALUES = [3, 14, 15, 92, 65, 35, 89, 79]  # the series of the original's alarms/example.py


@pytest.mark.parametrize(
    ("aggregate", "expected"),
    [
        (And, [False] * 7 + [True]),
        (Or, [False, False, False, True, True, False, True, True]),
    ],
)
def test_and_or_on_one_series(aggregate: type[And | Or], expected: list[bool]) -> None:
    """The example's BetweenValues + CheckLastN pair, judged on one trend by check()."""
    children = (BetweenValues(min_value=0, max_value=50), CheckLastN(min_value=0, max_value=70, n=3))
    assert replay(aggregate(children=children), EXAMPLE_VALUES) == expected


def test_aggregate_message_joins_alarmed_children() -> None:
    children = (BetweenValues(min_value=0, max_value=10, label="low"),
                BetweenValues(min_value=0, max_value=100, label="high"),
                BetweenValues(min_value=50, max_value=60, label="band"))
    result = Or(children=children, label="ERROR").check([55])
    assert result == AlarmResult(True, "[ERROR] 1 of 3 alarmed: [low] value 55 outside [0, 10]")
    both = And(children=children[::2]).check([70])
    assert both.message == ("2 of 2 alarmed: [low] value 70 outside [0, 10]; "
                            "[band] value 70 outside [50, 60]")


def test_combine_needs_one_result_per_child() -> None:
    aggregate = And(children=(BetweenValues(),))
    with pytest.raises(ValueError, match="2 results for 1 children"):
        aggregate.combine([AlarmResult(True, "x"), AlarmResult(True, "y")])


@pytest.mark.parametrize(
    ("alarm", "values", "message"),
    [
        (BetweenValues(min_value=0, max_value=100), [105], "value 105 outside [0, 100]"),
        (BetweenValues(label="WARNING"), [-0.5], "[WARNING] value -0.5 outside [0, 100]"),
        (CheckLastN(min_value=0, max_value=10, n=3), [1, 11, 12],
         "only 1 of the last 3 values inside (0, 10), at least 60% needed"),
        (MeanInRange(min_value=0, max_value=10, n=2), [10, 20],
         "mean 15 of the last 2 values outside (0, 10)"),
        (AbsolutePreviousValue(max_delta=3), [34, 30],
         "value 30 changed by 4 from previous 34, more than 3"),
        (RelativePreviousValue(), [-2, -5],
         "value -5 outside [-4, -1], more than a factor 2 from previous -2"),
    ],
)
def test_messages_are_readable(alarm: Alarm, values: list[float], message: str) -> None:
    assert alarm.check(values) == AlarmResult(True, message)


def test_no_alarm_has_empty_message() -> None:
    assert BetweenValues().check([50]) == AlarmResult(False, "")


@pytest.mark.parametrize(
    ("alarm", "too_few"),
    [
        (BetweenValues(min_value=1, max_value=2), []),
        (CheckLastN(), [-1.0] * 4),
        (MeanInRange(), [-1.0] * 4),
        (AbsolutePreviousValue(), [1000.0]),
        (RelativePreviousValue(), [1000.0]),
        (And(children=(AbsolutePreviousValue(), BetweenValues())), [1000.0]),
    ],
)
def test_too_few_values_never_alarm(alarm: Alarm, too_few: list[float]) -> None:
    assert not alarm.check(too_few).alarmed


@pytest.mark.parametrize(
    ("alarm", "values"),
    [
        (BetweenValues(), [math.nan]),
        (AbsolutePreviousValue(), [1, math.nan]),
        (RelativePreviousValue(), [1, math.nan]),
        (MeanInRange(n=1), [math.nan]),
        (CheckLastN(n=1), [math.nan]),
    ],
)
def test_nan_alarms(alarm: Alarm, values: list[float]) -> None:
    assert alarm.check(values).alarmed


def test_relative_after_zero_accepts_only_zero() -> None:
    alarm = RelativePreviousValue(ratio=10)
    assert replay(alarm, [0, 0, 0.001, 0, -0.001]) == [False, False, True, True, True]


def test_bounds_are_inclusive_for_between_values_but_exclusive_for_ranges() -> None:
    assert not BetweenValues(min_value=0, max_value=10).check([10]).alarmed
    assert CheckLastN(min_value=0, max_value=10, n=1, ratio=1).check([10]).alarmed
    assert MeanInRange(min_value=0, max_value=10, n=1).check([0]).alarmed


def test_defaults_are_the_originals() -> None:
    assert BetweenValues().bounds() == (0, 100)
    last_n, mean = CheckLastN(), MeanInRange()
    assert (last_n.min_value, last_n.max_value, last_n.ratio, last_n.n) == (0, 100, 0.6, 5)
    assert (mean.min_value, mean.max_value, mean.n) == (0, 100, 5)
    assert AbsolutePreviousValue().max_delta == 1
    assert RelativePreviousValue().ratio == 2


@pytest.mark.parametrize(
    ("alarm", "bounds"),
    [
        (BetweenValues(), (0, 100)),
        (BetweenValues(center_value=10, max_distance=2), (8, 12)),
        (BetweenValues(min_value=-5, max_value=5), (-5, 5)),
        (BetweenValues(min_value=10), (10, 100)),  # a missing bound comes from 50 ± 50, as in the original
        (BetweenValues(max_value=10, center_value=0, max_distance=20), (-20, 10)),
        (CheckLastN(), None),
        (MeanInRange(), None),
        (AbsolutePreviousValue(), None),
        (RelativePreviousValue(), None),
        (And(children=(BetweenValues(),)), None),
        (Or(children=(BetweenValues(),)), None),
    ],
)
def test_bounds(alarm: Alarm, bounds: tuple[float, float] | None) -> None:
    assert alarm.bounds() == bounds


@pytest.mark.parametrize(
    ("make", "parameter"),
    [
        (lambda: BetweenValues(min_value=0, max_value=1, center_value=0), "center_value"),
        (lambda: BetweenValues(max_distance=-1), "max_distance"),
        (lambda: BetweenValues(min_value=5, max_value=1), "min_value"),
        (lambda: CheckLastN(n=0), "n must"),
        (lambda: CheckLastN(ratio=1.5), "ratio"),
        (lambda: CheckLastN(ratio=0), "ratio"),
        (lambda: CheckLastN(min_value=3, max_value=3), "min_value"),
        (lambda: MeanInRange(n=-1), "n must"),
        (lambda: MeanInRange(min_value=3, max_value=1), "min_value"),
        (lambda: AbsolutePreviousValue(max_delta=-0.1), "max_delta"),
        (lambda: AbsolutePreviousValue(max_delta=math.nan), "max_delta"),
        (lambda: RelativePreviousValue(ratio=1), "ratio"),
        (lambda: RelativePreviousValue(ratio=0.5), "ratio"),
        (lambda: And(children=()), "children"),
        (lambda: Or(children=()), "children"),
    ],
)
def test_bad_parameters_are_config_errors(make: Callable[[], Alarm], parameter: str) -> None:
    with pytest.raises(ConfigError, match=parameter):
        make()


def test_alarms_are_frozen_and_hashable() -> None:
    alarm = And(children=(BetweenValues(), Or(children=(CheckLastN(),))))
    with pytest.raises(dataclasses.FrozenInstanceError):
        alarm.label = "x"  # type: ignore[misc]
    assert hash(alarm) == hash(And(children=(BetweenValues(), Or(children=(CheckLastN(),)))))


# One table per kind, naming every parameter, so a parameter the parser cannot read fails here.
FULL_CONFIGS: list[tuple[dict[str, object], Alarm]] = [
    ({"kind": "between_values", "label": "E", "center_value": 5, "max_distance": 1.5},
     BetweenValues(label="E", center_value=5, max_distance=1.5)),
    ({"kind": "between_values", "min_value": 0, "max_value": 100}, BetweenValues(min_value=0, max_value=100)),
    ({"kind": "check_last_n", "label": "E", "min_value": 1, "max_value": 2, "ratio": 0.5, "n": 4},
     CheckLastN(label="E", min_value=1, max_value=2, ratio=0.5, n=4)),
    ({"kind": "mean_in_range", "label": "W", "min_value": -1, "max_value": 1.5, "n": 3},
     MeanInRange(label="W", min_value=-1, max_value=1.5, n=3)),
    ({"kind": "absolute_previous_value", "label": "W", "max_delta": 3},
     AbsolutePreviousValue(label="W", max_delta=3)),
    ({"kind": "relative_previous_value", "label": "W", "ratio": 1.5},
     RelativePreviousValue(label="W", ratio=1.5)),
    ({"kind": "and", "label": "both", "children": [{"kind": "between_values"}, {"kind": "check_last_n"}]},
     And(label="both", children=(BetweenValues(), CheckLastN()))),
    ({"kind": "or", "label": "any", "children": [{"kind": "and", "children": [{"kind": "mean_in_range"}]}]},
     Or(label="any", children=(And(children=(MeanInRange(),)),))),
]


@pytest.mark.parametrize(("config", "expected"), FULL_CONFIGS)
def test_alarm_from_config(config: dict[str, object], expected: Alarm) -> None:
    assert alarm_from_config(config) == expected


def test_full_configs_cover_every_kind_and_parameter() -> None:
    for kind, cls in ALARM_KINDS.items():
        named = {key for config, _ in FULL_CONFIGS if config["kind"] == kind for key in config}
        assert named == {"kind"} | {f.name for f in dataclasses.fields(cls)}, kind


def test_numbers_from_config_are_floats() -> None:
    alarm = alarm_from_config({"kind": "between_values", "min_value": 0, "max_value": 100})
    assert isinstance(alarm, BetweenValues)
    assert alarm.bounds() == (0.0, 100.0)
    assert all(isinstance(bound, float) for bound in alarm.bounds())


def test_alarms_from_config() -> None:
    alarms = alarms_from_config({
        "mean": [{"kind": "check_last_n", "label": "ERROR"},
                 {"kind": "between_values", "min_value": 0, "max_value": 50, "label": "WARNING"}],
        "stdDev": [{"kind": "mean_in_range", "label": "WARNING"}],
        "max": [],
    })
    assert alarms == {
        "mean": (CheckLastN(label="ERROR"), BetweenValues(min_value=0, max_value=50, label="WARNING")),
        "stdDev": (MeanInRange(label="WARNING"),),
        "max": (),
    }


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"kind": "between"}, "alarm: unknown kind 'between'; valid kinds: between_values, check_last_n"),
        ({"min_value": 1}, "alarm: missing 'kind'; valid kinds: between_values"),
        ({"kind": 3}, "unknown kind 3"),
        ("between_values", "alarm: an alarm must be a table, got str"),
        ({"kind": "between_values", "maxVal": 3},
         "alarm (between_values): unknown parameter 'maxVal'; valid: center_value, label, max_distance, "
         "max_value, min_value"),
        ({"kind": "and"}, "alarm (and): missing parameter 'children'; valid: children, label"),
        ({"kind": "check_last_n", "n": 2.5}, "alarm.n must be an integer, got 2.5"),
        ({"kind": "check_last_n", "n": True}, "alarm.n must be an integer, got True"),
        ({"kind": "mean_in_range", "min_value": "0"}, "alarm.min_value must be a number, got '0'"),
        ({"kind": "absolute_previous_value", "max_delta": False}, "alarm.max_delta must be a number"),
        ({"kind": "or", "label": 1, "children": []}, "alarm.label must be a string, got 1"),
        ({"kind": "or", "children": {"kind": "and"}}, "alarm.children: expected a list of alarm tables"),
        ({"kind": "or", "children": "between_values"}, "alarm.children: expected a list of alarm tables"),
        ({"kind": "or", "children": []}, "alarm: Or children must not be empty"),
        ({"kind": "and", "children": [{"kind": "or", "children": [{"kind": "between_values", "n": 1}]}]},
         "alarm.children[0].children[0] (between_values): unknown parameter 'n'"),
        ({"kind": "relative_previous_value", "ratio": 1},
         "alarm: RelativePreviousValue ratio must be > 1, got 1"),
    ],
)
def test_bad_alarm_config(config: object, expected: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        alarm_from_config(config)
    assert expected in str(excinfo.value)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"mean": {"kind": "between_values"}}, "alarms.mean: expected a list of alarm tables, got dict"),
        ({"mean": "between_values"}, "alarms.mean: expected a list of alarm tables, got str"),
        ({"mean": [{"kind": "between_values"}, {"kind": "nope"}]}, "alarms.mean[1]: unknown kind 'nope'"),
        ({"max": [{"kind": "mean_in_range", "n": 0}]}, "alarms.max[0]: MeanInRange n must be >= 1, got 0"),
    ],
)
def test_bad_alarms_config_names_the_trend(config: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        alarms_from_config(config)
    assert expected in str(excinfo.value)
