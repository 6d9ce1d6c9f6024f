"""parse_config: the seed loads as written, every malformed config names its path, defaults are sosw's."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from foreman_core.config import (
    DEFAULT_COEFFICIENTS,
    ROOT_PATH,
    Comparison,
    ConfigError,
    HealthMetric,
    Labourer,
    MetricQuery,
    OrchestratorConfig,
    RetryBackoff,
    Tables,
    parse_config,
)
from foreman_core.target_tracking import Direction, TargetTracking
from tests.fixtures.seed_config import SEED_CONFIG

SEED_JSON = Path(__file__).parent.parent / "fixtures" / "seed_config.json"
SEED_ARN = "arn:aws:lambda:us-west-2:737060422660:function:some_function"

LAB = ("task_config", "labourers", "some_function")
METRIC = (*LAB, "health_metrics", "SomeDBCPU")
DETAILS = (*METRIC, "details")
LAB_PATH = ".".join(LAB)
METRIC_PATH = ".".join(METRIC)
DETAILS_PATH = ".".join(DETAILS)

DELETE = object()
"""An edit value meaning: remove this key."""


def seed_with(*edits: tuple[tuple[Any, ...], Any]) -> dict[str, Any]:
    """A deep copy of the seed config with ``(key path, value)`` edits applied (``DELETE`` removes the key)."""
    config = copy.deepcopy(SEED_CONFIG)
    for path, value in edits:
        parent = config
        for key in path[:-1]:
            parent = parent[key]
        if value is DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return config


def minimal(**labourer: Any) -> dict[str, Any]:
    """A config with one labourer ``worker`` made of ``labourer`` (an ``arn`` is added if missing)."""
    return {"task_config": {"labourers": {"worker": {"arn": "worker", **labourer}}}}


def metric(**overrides: Any) -> dict[str, Any]:
    """A minimal valid health metric, with ``overrides``."""
    return {
        "details": {"MetricName": "CPUUtilization", "Namespace": "AWS/RDS"},
        "feelings": {4: 25, 3: 50},
        "feeling_comparison_operator": "<=",
        **overrides,
    }


def problems_of(raw: Any, **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, **kwargs)
    return caught.value


# ---- the seed ---------------------------------------------------------------------------------------------------


def assert_is_seed(config: OrchestratorConfig) -> None:
    (labourer,) = config.labourers
    assert labourer.id == "some_function"
    assert labourer.arn == SEED_ARN
    assert labourer.max_simultaneous_invocations == 10
    (health,) = labourer.health_metrics
    assert health.name == "SomeDBCPU"
    assert health.query == MetricQuery(
        namespace="AWS/RDS",
        metric_name="CPUUtilization",
        dimensions=(("DBInstanceIdentifier", "YOUR-DB"),),
        period=60,
        stat="Average",
        unit=None,
        window=300,
    )
    assert health.comparison is Comparison.LE
    assert health.feelings == ((4, 25.0), (3, 50.0))
    assert health.no_data_status == 0
    assert config.tables == Tables()


def test_seed_config_loads_as_written_from_the_python_dict() -> None:
    assert_is_seed(parse_config(SEED_CONFIG))


def test_seed_config_loads_as_written_from_json_text() -> None:
    assert_is_seed(parse_config(SEED_JSON.read_text()))


def test_seed_json_fixture_is_the_json_form_of_the_python_seed() -> None:
    assert json.loads(SEED_JSON.read_text()) == json.loads(json.dumps(SEED_CONFIG))


def test_parsing_does_not_change_the_input() -> None:
    raw = copy.deepcopy(SEED_CONFIG)
    parse_config(raw)
    assert raw == SEED_CONFIG


# ---- malformed configs ------------------------------------------------------------------------------------------

MALFORMED: list[tuple[str, Any, list[str], str]] = [
    (
        "unknown top-level key",
        {**SEED_CONFIG, "max_task_per_execution": 5},
        ["max_task_per_execution"],
        "unknown key; did you mean 'max_tasks_per_execution'?",
    ),
    (
        "labourers at the top level (sosw's template slip)",
        {**SEED_CONFIG, "labourers": {}},
        ["labourers"],
        "did you mean 'task_config.labourers'?",
    ),
    (
        "misspelt labourer key",
        seed_with(((*LAB, "max_simultanous_invocations"), 3)),
        [f"{LAB_PATH}.max_simultanous_invocations"],
        "unknown key; did you mean 'max_simultaneous_invocations'?",
    ),
    (
        "unknown task_config key",
        seed_with((("task_config", "max_attempt"), 3)),
        ["task_config.max_attempt"],
        "did you mean 'max_attempts'?",
    ),
    (
        "unknown dynamo_db_config key",
        seed_with((("task_config", "dynamo_db_config", "tablename"), "x")),
        ["task_config.dynamo_db_config.tablename"],
        "did you mean 'table_name'?",
    ),
    (
        "cap as a string",
        seed_with(((*LAB, "max_simultaneous_invocations"), "10")),
        [f"{LAB_PATH}.max_simultaneous_invocations"],
        "expected a non-negative integer, got string '10'",
    ),
    (
        "bool as int",
        seed_with(((*LAB, "max_simultaneous_invocations"), True)),
        [f"{LAB_PATH}.max_simultaneous_invocations"],
        "got boolean true",
    ),
    (
        "non-integral float",
        seed_with(((*LAB, "duration"), 1.5)),
        [f"{LAB_PATH}.duration"],
        "expected a positive integer, got number 1.5",
    ),
    (
        "negative duration",
        seed_with(((*LAB, "duration"), -5)),
        [f"{LAB_PATH}.duration"],
        "expected a positive integer, got -5",
    ),
    (
        "negative cooldown",
        seed_with(((*LAB, "cooldown"), -1)),
        [f"{LAB_PATH}.cooldown"],
        "expected a non-negative integer",
    ),
    (
        "zero max_attempts",
        seed_with(((*LAB, "max_attempts"), 0)),
        [f"{LAB_PATH}.max_attempts"],
        "expected a positive integer, got 0",
    ),
    (
        "zero max_duration",
        seed_with(((*LAB, "max_duration"), 0)),
        [f"{LAB_PATH}.max_duration"],
        "expected a positive integer",
    ),
    (
        "thresholds out of order for <=",
        seed_with(((*METRIC, "feelings"), {4: 50, 3: 25})),
        [f"{METRIC_PATH}.feelings"],
        "out of order for '<=' (lower is better",
    ),
    (
        "equal thresholds",
        seed_with(((*METRIC, "feelings"), {4: 25, 3: 25})),
        [f"{METRIC_PATH}.feelings"],
        "status 3 (25) must be above status 4 (25)",
    ),
    (
        "thresholds out of order for >=",
        seed_with(((*METRIC, "feeling_comparison_operator"), ">=")),
        [f"{METRIC_PATH}.feelings"],
        "out of order for '>=' (higher is better",
    ),
    (
        "thresholds out of order for sosw's ge name",
        seed_with(((*METRIC, "feeling_comparison_operator"), "ge")),
        [f"{METRIC_PATH}.feelings"],
        "status 3 (50) must be below status 4 (25)",
    ),
    (
        "unknown status 5",
        seed_with(((*METRIC, "feelings"), {5: 10, 4: 25})),
        [f"{METRIC_PATH}.feelings.5"],
        "unknown status 5",
    ),
    (
        "unknown status 'x'",
        seed_with(((*METRIC, "feelings"), {"x": 10})),
        [f"{METRIC_PATH}.feelings.x"],
        "unknown status 'x'",
    ),
    (
        "threshold not a number",
        seed_with(((*METRIC, "feelings"), {4: "25"})),
        [f"{METRIC_PATH}.feelings.4"],
        "expected a number, got string '25'",
    ),
    (
        "status given twice",
        seed_with(((*METRIC, "feelings"), {3: 50, "3": 40})),
        [f"{METRIC_PATH}.feelings.3"],
        "status 3 is given twice",
    ),
    (
        "no feelings",
        seed_with(((*METRIC, "feelings"), {})),
        [f"{METRIC_PATH}.feelings"],
        "no feelings",
    ),
    (
        "unknown operator",
        seed_with(((*METRIC, "feeling_comparison_operator"), "eq")),
        [f"{METRIC_PATH}.feeling_comparison_operator"],
        "unknown operator string 'eq'; expected one of '<', '<=', '>', '>='",
    ),
    (
        "missing operator",
        seed_with(((*METRIC, "feeling_comparison_operator"), DELETE)),
        [f"{METRIC_PATH}.feeling_comparison_operator"],
        "missing required key 'feeling_comparison_operator'",
    ),
    (
        "missing arn",
        seed_with(((*LAB, "arn"), DELETE)),
        [f"{LAB_PATH}.arn"],
        "missing required key 'arn'",
    ),
    (
        "bad arn",
        seed_with(((*LAB, "arn"), "arn:aws:sqs:us-east-1:123456789012:queue")),
        [f"{LAB_PATH}.arn"],
        "not a Lambda function ARN or name",
    ),
    (
        "missing details",
        seed_with(((*METRIC, "details"), DELETE)),
        [f"{METRIC_PATH}.details"],
        "missing required key 'details'",
    ),
    (
        "Name and MetricName both",
        seed_with(((*DETAILS, "MetricName"), "CPUUtilization")),
        [DETAILS_PATH],
        "both 'MetricName' and 'Name'",
    ),
    (
        "no metric name",
        seed_with(((*DETAILS, "Name"), DELETE)),
        [f"{DETAILS_PATH}.MetricName"],
        "missing required key 'MetricName' (or sosw's 'Name')",
    ),
    (
        "missing Namespace",
        seed_with(((*DETAILS, "Namespace"), DELETE)),
        [f"{DETAILS_PATH}.Namespace"],
        "missing required key 'Namespace'",
    ),
    (
        "two Statistics",
        seed_with(((*DETAILS, "Statistics"), ["Average", "Maximum"])),
        [f"{DETAILS_PATH}.Statistics"],
        "expected exactly one statistic, got 2",
    ),
    (
        "bad statistic",
        seed_with(((*DETAILS, "Statistics"), ["Avg"])),
        [f"{DETAILS_PATH}.Statistics.0"],
        "unknown statistic 'Avg'",
    ),
    (
        "percentile out of range",
        seed_with(((*DETAILS, "Statistics"), ["p100"])),
        [f"{DETAILS_PATH}.Statistics.0"],
        "unknown statistic 'p100'",
    ),
    (
        "Statistics and ExtendedStatistics both",
        seed_with(((*DETAILS, "ExtendedStatistics"), ["p90"])),
        [DETAILS_PATH],
        "both 'Statistics' and 'ExtendedStatistics'",
    ),
    (
        "ExtendedStatistics that is no percentile",
        seed_with(((*DETAILS, "Statistics"), DELETE), ((*DETAILS, "ExtendedStatistics"), ["Average"])),
        [f"{DETAILS_PATH}.ExtendedStatistics.0"],
        "not a percentile",
    ),
    (
        "dimension without Value",
        seed_with(((*DETAILS, "Dimensions"), [{"Name": "DBInstanceIdentifier"}])),
        [f"{DETAILS_PATH}.Dimensions.0.Value"],
        "missing required key 'Value'",
    ),
    (
        "unknown details key",
        seed_with(((*DETAILS, "StartTime"), 0)),
        [f"{DETAILS_PATH}.StartTime"],
        "unknown key",
    ),
    (
        "zero Period",
        seed_with(((*DETAILS, "Period"), 0)),
        [f"{DETAILS_PATH}.Period"],
        "expected a positive integer, got 0",
    ),
    (
        "metric no_data_status out of range",
        seed_with(((*METRIC, "no_data_status"), 7)),
        [f"{METRIC_PATH}.no_data_status"],
        "expected a status 0..4",
    ),
    (
        "coefficient out of range",
        {**SEED_CONFIG, "invocation_number_coefficient": {"2": 1.5}},
        ["invocation_number_coefficient.2"],
        "expected a number between 0 and 1, got 1.5",
    ),
    (
        "coefficient for an unknown status",
        {**SEED_CONFIG, "invocation_number_coefficient": {"7": 0.5}},
        ["invocation_number_coefficient.7"],
        "unknown status '7'",
    ),
    (
        "negative coefficient inside task_config",
        seed_with((("task_config", "invocation_number_coefficient"), {3: -0.1})),
        ["task_config.invocation_number_coefficient.3"],
        "between 0 and 1",
    ),
    (
        "computed attribute start",
        seed_with(((*LAB, "start"), 0)),
        [f"{LAB_PATH}.start"],
        "computed per run; cannot be configured",
    ),
    (
        "max_attempts for an unknown labourer",
        seed_with((("task_config", "max_attempts_some_functon"), 5)),
        ["task_config.max_attempts_some_functon"],
        "names no configured labourer ('some_functon'); did you mean 'some_function'?",
    ),
    (
        "field_names renaming",
        seed_with((("task_config", "dynamo_db_config", "field_names", "greenfield"), "gf")),
        ["task_config.dynamo_db_config.field_names.greenfield"],
        "Foreman reads sosw's default attribute names only",
    ),
    (
        "row_mapper with an unknown type",
        seed_with((("task_config", "dynamo_db_config", "row_mapper", "payload"), "X")),
        ["task_config.dynamo_db_config.row_mapper.payload"],
        "expected one of S, N, M, BOOL",
    ),
    (
        "empty table name",
        seed_with((("task_config", "sosw_closed_tasks_table"), "")),
        ["task_config.sosw_closed_tasks_table"],
        "expected a non-empty string",
    ),
    (
        "two default statistics in ecology_config",
        seed_with(
            (("task_config", "ecology_config"), {"default_metric_values": {"Statistics": ["Average", "Sum"]}}),
        ),
        ["task_config.ecology_config.default_metric_values.Statistics"],
        "expected exactly one statistic",
    ),
    (
        "ecology no_data_status out of range",
        seed_with((("task_config", "ecology_config"), {"no_data_status": 9})),
        ["task_config.ecology_config.no_data_status"],
        "expected a status 0..4",
    ),
    (
        "zero greenfield_task_step",
        seed_with((("task_config", "greenfield_task_step"), 0)),
        ["task_config.greenfield_task_step"],
        "expected a positive integer",
    ),
    (
        "zero max_tasks_per_execution",
        {**SEED_CONFIG, "max_tasks_per_execution": 0},
        ["max_tasks_per_execution"],
        "expected a positive integer",
    ),
    (
        "exact_queue_depth as a string",
        {**SEED_CONFIG, "exact_queue_depth": "yes"},
        ["exact_queue_depth"],
        "expected true or false, got string 'yes'",
    ),
    (
        "labourers as a list",
        seed_with((("task_config", "labourers"), ["some_function"])),
        ["task_config.labourers"],
        "expected an object, got a list",
    ),
    (
        "labourer as a string",
        seed_with((LAB, SEED_ARN)),
        [LAB_PATH],
        "expected an object, got string",
    ),
    (
        "health_metrics as a list",
        seed_with(((*LAB, "health_metrics"), [])),
        [f"{LAB_PATH}.health_metrics"],
        "expected an object, got a list",
    ),
    (
        "task_config not a dict",
        {"task_config": []},
        ["task_config"],
        "expected an object, got a list",
    ),
    ("task_config missing", {}, ["task_config"], "missing required key 'task_config'"),
    ("invalid JSON text", '{"task_config": {,}}', [ROOT_PATH], "invalid JSON at line 1 column 18"),
    ("JSON that is not an object", "[1, 2]", [ROOT_PATH], "expected an object with a 'task_config' key, got a list"),
]


@pytest.mark.parametrize(
    ("raw", "paths", "fragment"),
    [pytest.param(raw, paths, fragment, id=name) for name, raw, paths, fragment in MALFORMED],
)
def test_malformed_config_names_the_path_and_the_reason(raw: Any, paths: list[str], fragment: str) -> None:
    error = problems_of(raw)
    assert error.paths == paths
    assert fragment in error.problems[0][1]
    assert fragment in str(error)


def test_every_problem_is_listed_at_once() -> None:
    raw = seed_with(
        ((*LAB, "max_simultanous_invocations"), 3),
        ((*LAB, "duration"), -5),
        ((*METRIC, "feelings"), {4: 50, 3: 25, 5: 1}),
        ((*METRIC, "feeling_comparison_operator"), "eq"),
        ((*DETAILS, "Statistics"), ["Average", "Maximum"]),
        (("task_config", "max_attempts_nobody"), 2),
    )
    raw["invocation_number_coefficient"] = {"2": 2}
    error = problems_of(raw)
    assert sorted(error.paths) == sorted(
        [
            f"{LAB_PATH}.max_simultanous_invocations",
            f"{LAB_PATH}.duration",
            f"{METRIC_PATH}.feelings.5",
            f"{METRIC_PATH}.feeling_comparison_operator",
            f"{DETAILS_PATH}.Statistics",
            "task_config.max_attempts_nobody",
            "invocation_number_coefficient.2",
        ]
    )
    assert f"({len(error.paths)} problem(s))" in str(error)
    for path in error.paths:
        assert f"  - {path}: " in str(error)


def test_threshold_order_is_checked_once_the_feelings_themselves_are_valid() -> None:
    error = problems_of(seed_with(((*METRIC, "feelings"), {4: 50, 3: 25}), ((*DETAILS, "Namespace"), DELETE)))
    assert error.paths == [f"{DETAILS_PATH}.Namespace", f"{METRIC_PATH}.feelings"]


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:us-west-2:737060422660:function:some_function:live",
        "arn:aws:lambda:us-west-2:737060422660:function:some_function:$LATEST",
        "arn:aws-cn:lambda:cn-north-1:737060422660:function:some_function",
        "some_function",
        "some-function:7",
        "737060422660:function:some_function",
    ],
)
def test_function_arns_names_and_partial_arns_are_accepted(arn: str) -> None:
    assert parse_config(minimal(arn=arn)).labourer("worker").arn == arn


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:us-west-2:1234:function:short_account",
        "arn:aws:lambda:us-west-2:737060422660:layer:some_layer",
        "some function",
        "x" * 65,
        "",
    ],
)
def test_other_strings_are_no_function_arn(arn: str) -> None:
    error = problems_of(minimal(arn=arn))
    assert error.paths == ["task_config.labourers.worker.arn"]


# ---- valid variants ---------------------------------------------------------------------------------------------


def only_metric(config: OrchestratorConfig) -> HealthMetric:
    (labourer,) = config.labourers
    (health,) = labourer.health_metrics
    return health


def test_defaults_are_sosws() -> None:
    config = parse_config(minimal(health_metrics={"m": {**metric(), "details": {"MetricName": "x", "Namespace": "y"}}}))
    labourer = config.labourer("worker")
    assert labourer == Labourer(
        id="worker",
        arn="worker",
        max_simultaneous_invocations=1,
        health_metrics=labourer.health_metrics,
        max_attempts=3,
        max_duration=None,
        duration=900,
        cooldown=300,
    )
    assert labourer.health_metrics[0].query == MetricQuery(
        namespace="y", metric_name="x", dimensions=(), period=60, stat="Average", unit=None, window=300
    )
    assert labourer.health_metrics[0].no_data_status == 0
    assert config.greenfield_invocation_delta == 31557600
    assert config.greenfield_task_step == 1000
    assert config.coefficients == {0: 0.0, 1: 0.0, 2: 0.5, 3: 0.75, 4: 1.0}
    assert config.max_tasks_per_execution == 100_000  # the tasks travel in S3: foreman_core.task_budget
    assert config.exact_queue_depth is False
    assert config.tables == Tables(
        tasks="sosw_tasks",
        greenfield_index="sosw_tasks_greenfield",
        closed="sosw_closed_tasks",
        closed_index="labourer_task_status_with_time",
        retry="sosw_retry_tasks",
        retry_index="labourer_id_greenfield",
    )


def test_no_labourers_is_a_valid_config() -> None:
    assert parse_config({"task_config": {}}).labourers == ()


def test_labourer_without_metrics_has_none() -> None:
    assert parse_config(minimal()).labourer("worker").health_metrics == ()
    assert parse_config(minimal(health_metrics={})).labourer("worker").health_metrics == ()


def test_string_status_keys_read_like_int_keys() -> None:
    as_strings = parse_config(seed_with(((*METRIC, "feelings"), {"3": 50, "4": 25})))
    assert only_metric(as_strings).feelings == ((4, 25.0), (3, 50.0))
    assert as_strings == parse_config(SEED_CONFIG)


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("<", Comparison.LT),
        ("<=", Comparison.LE),
        ("lt", Comparison.LT),
        ("le", Comparison.LE),
        ("__lt__", Comparison.LT),
        ("__le__", Comparison.LE),
    ],
)
def test_lower_is_better_operators_in_every_spelling(operator: str, expected: Comparison) -> None:
    parsed = only_metric(parse_config(seed_with(((*METRIC, "feeling_comparison_operator"), operator))))
    assert parsed.comparison is expected
    assert parsed.comparison.lower_is_better


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        (">", Comparison.GT),
        (">=", Comparison.GE),
        ("gt", Comparison.GT),
        ("ge", Comparison.GE),
        ("__ge__", Comparison.GE),
    ],
)
def test_higher_is_better_operators_take_decreasing_thresholds(operator: str, expected: Comparison) -> None:
    raw = seed_with(((*METRIC, "feeling_comparison_operator"), operator), ((*METRIC, "feelings"), {3: 50, 4: 90}))
    parsed = only_metric(parse_config(raw))
    assert parsed.comparison is expected
    assert not parsed.comparison.lower_is_better
    assert parsed.feelings == ((4, 90.0), (3, 50.0))


def test_coefficient_override_with_string_keys_changes_only_that_status() -> None:
    config = parse_config({**SEED_CONFIG, "invocation_number_coefficient": {"2": 0.25}})
    assert config.coefficients == {**DEFAULT_COEFFICIENTS, 2: 0.25}
    assert config.coefficient(2) == 0.25


def test_top_level_coefficient_wins_over_task_config_for_the_same_status() -> None:
    raw = seed_with((("task_config", "invocation_number_coefficient"), {"1": 0.1, "2": 0.2}))
    raw["invocation_number_coefficient"] = {2: 0.3}
    assert parse_config(raw).coefficients == {0: 0.0, 1: 0.1, 2: 0.3, 3: 0.75, 4: 1.0}


def test_extended_statistics_percentile() -> None:
    raw = seed_with(((*DETAILS, "Statistics"), DELETE), ((*DETAILS, "ExtendedStatistics"), ["p90"]))
    assert only_metric(parse_config(raw)).query.stat == "p90"


@pytest.mark.parametrize("stat", ["Average", "Maximum", "Minimum", "Sum", "SampleCount", "p99.9", "p50"])
def test_every_statistic_is_accepted(stat: str) -> None:
    assert only_metric(parse_config(seed_with(((*DETAILS, "Statistics"), [stat])))).query.stat == stat


def test_metric_name_unit_and_window_are_read() -> None:
    details = {
        "MetricName": "Errors",
        "Namespace": "AWS/Lambda",
        "Dimensions": [{"Name": "FunctionName", "Value": "a"}, {"Name": "Resource", "Value": "b"}],
        "Unit": "Count",
        "MetricAggregationTimeSlice": 600,
        "Period": 300,
    }
    query = only_metric(parse_config(seed_with((DETAILS, details)))).query
    assert query == MetricQuery(
        "AWS/Lambda", "Errors", (("FunctionName", "a"), ("Resource", "b")), 300, "Average", "Count", 600
    )


def test_ecology_defaults_apply_to_every_metric_unless_the_metric_says_otherwise() -> None:
    ecology = {
        "default_metric_values": {"Period": 120, "Statistics": ["Maximum"], "MetricAggregationTimeSlice": 900},
        "no_data_status": 2,
        "init_clients": ["cloudwatch"],
    }
    raw = seed_with((("task_config", "ecology_config"), ecology))
    query = only_metric(parse_config(raw)).query
    assert (query.period, query.stat, query.window) == (60, "Average", 900)  # the seed sets Period and Statistics
    assert only_metric(parse_config(raw)).no_data_status == 2

    raw = seed_with(
        (("task_config", "ecology_config"), ecology),
        ((*DETAILS, "Period"), DELETE),
        ((*DETAILS, "Statistics"), DELETE),
        ((*METRIC, "no_data_status"), "4"),
    )
    health = only_metric(parse_config(raw))
    assert (health.query.period, health.query.stat, health.no_data_status) == (120, "Maximum", 4)


def test_cap_precedence_labourer_then_task_config_then_top_level_then_one() -> None:
    def cap(labourer: dict[str, Any], task: dict[str, Any], top: dict[str, Any]) -> int:
        raw = {"task_config": {"labourers": {"w": {"arn": "w", **labourer}}, **task}, **top}
        return parse_config(raw).labourer("w").max_simultaneous_invocations

    key = "max_simultaneous_invocations"
    assert cap({}, {}, {}) == 1
    assert cap({}, {}, {key: 7}) == 7
    assert cap({}, {key: 5}, {key: 7}) == 5
    assert cap({key: 3}, {key: 5}, {key: 7}) == 3
    assert cap({key: 0}, {key: 5}, {}) == 0, "an explicit 0 means never invoke (sosw would fall back to 5)"


def test_max_attempts_precedence_labourer_then_per_labourer_key_then_task_config_then_three() -> None:
    def attempts(labourer: dict[str, Any], task: dict[str, Any]) -> int:
        raw = {"task_config": {"labourers": {"w": {"arn": "w", **labourer}}, **task}}
        return parse_config(raw).labourer("w").max_attempts

    assert attempts({}, {}) == 3
    assert attempts({}, {"max_attempts": 4}) == 4
    assert attempts({}, {"max_attempts": 4, "max_attempts_w": 5}) == 5
    assert attempts({"max_attempts": 6}, {"max_attempts": 4, "max_attempts_w": 5}) == 6


def test_labourer_settings_are_read() -> None:
    labourer = parse_config(minimal(duration=60, cooldown=0, max_duration=30.0, max_simultaneous_invocations=4.0))
    assert labourer.labourer("worker") == Labourer(
        id="worker", arn="worker", max_simultaneous_invocations=4, max_duration=30, duration=60, cooldown=0
    )


def test_retry_settings_default_to_sosws_linear_delay_on_max_duration() -> None:
    labourer = parse_config(minimal()).labourer("worker")
    assert (labourer.retry_delay_seconds, labourer.retry_backoff, labourer.max_retry_delay_seconds) == (
        None,
        RetryBackoff.LINEAR,
        None,
    )


def test_retry_settings_are_read() -> None:
    raw = minimal(retry_delay_seconds=30.0, retry_backoff="exponential", max_retry_delay_seconds=600)
    labourer = parse_config(raw).labourer("worker")
    assert (labourer.retry_delay_seconds, labourer.retry_backoff, labourer.max_retry_delay_seconds) == (
        30,
        RetryBackoff.EXPONENTIAL,
        600,
    )
    assert parse_config(minimal(retry_delay_seconds=0)).labourer("worker").retry_delay_seconds == 0


@pytest.mark.parametrize(
    ("settings", "path", "fragment"),
    [
        ({"retry_backoff": "fibonacci"}, "retry_backoff", "unknown backoff string 'fibonacci'; expected one of"),
        ({"retry_backoff": 2}, "retry_backoff", "unknown backoff number 2"),
        ({"retry_delay_seconds": -1}, "retry_delay_seconds", "expected a non-negative integer, got -1"),
        ({"max_retry_delay_seconds": 0}, "max_retry_delay_seconds", "expected a positive integer, got 0"),
        ({"retry_delay": 10}, "retry_delay", "unknown key; did you mean 'retry_delay_seconds'?"),
    ],
)
def test_wrong_retry_settings_name_the_path(settings: dict[str, Any], path: str, fragment: str) -> None:
    error = problems_of(minimal(**settings))
    assert error.paths == [f"task_config.labourers.worker.{path}"]
    assert fragment in str(error)


def test_tables_argument_gives_the_defaults_and_the_config_still_wins() -> None:
    mine = Tables("t", "t_gf", "t_closed", "t_closed_idx", "t_retry", "t_retry_idx")
    assert parse_config({"task_config": {}}, tables=mine).tables == mine
    raw = {"task_config": {"dynamo_db_config": {"table_name": "x"}, "sosw_retry_tasks_table": "y"}}
    assert parse_config(raw, tables=mine).tables == Tables("x", "t_gf", "t_closed", "t_closed_idx", "y", "t_retry_idx")
    assert parse_config(SEED_CONFIG, tables=mine).tables == Tables(
        "sosw_tasks",
        "sosw_tasks_greenfield",
        "sosw_closed_tasks",
        "t_closed_idx",
        "sosw_retry_tasks",
        "labourer_id_greenfield",
    )


def test_labourer_order_is_preserved() -> None:
    raw = {"task_config": {"labourers": {name: {"arn": name} for name in ("zeta", "alpha", "mu")}}}
    assert [lab.id for lab in parse_config(raw).labourers] == ["zeta", "alpha", "mu"]


def test_sosw_keys_foreman_does_not_use_are_accepted() -> None:
    raw = seed_with(
        (("task_config", "init_clients"), ["DynamoDb", "lambda", "Ecology"]),
        (("task_config", "max_closed_to_analyse_for_duration"), 10),
        (("task_config", "dynamo_db_config", "hash_key"), "task_id"),
    )
    raw.update(
        init_clients=["Sns"],
        meta_handler_config={"write_meta_to_ddb": False},
        default_simultaneous_invocations=2,
        lifetime_stats_params=[],
        dead_sns_topic="SoswWorkerErrors",
        test=True,
    )
    assert parse_config(raw) == parse_config(SEED_CONFIG)


def test_labourer_lookup_names_the_known_ids() -> None:
    with pytest.raises(KeyError, match="some_function"):
        parse_config(SEED_CONFIG).labourer("nobody")


# ---- canonical form ---------------------------------------------------------------------------------------------


def rich_config() -> dict[str, Any]:
    return {
        "task_config": {
            "dynamo_db_config": {"table_name": "tasks"},
            "sosw_closed_tasks_table": "closed",
            "labourers": {
                "b": {
                    "arn": "arn:aws:lambda:eu-west-1:123456789012:function:b:live",
                    "max_duration": 120,
                    "health_metrics": {
                        "cpu": metric(no_data_status=3),
                        "free": metric(
                            details={
                                "MetricName": "FreeableMemory",
                                "Namespace": "AWS/RDS",
                                "ExtendedStatistics": ["p99.9"],
                                "Unit": "Bytes",
                            },
                            feelings={"4": 1e9, "2": 5e8, "0": 0},
                            feeling_comparison_operator="gt",
                        ),
                    },
                },
                "a": {
                    "arn": "a",
                    "max_simultaneous_invocations": 0,
                    "cooldown": 0,
                    "retry_delay_seconds": 0,
                    "retry_backoff": "exponential",
                    "max_retry_delay_seconds": 3600,
                },
            },
            "max_attempts_a": 7,
            "greenfield_task_step": 10,
        },
        "invocation_number_coefficient": {"1": 0.1},
        "max_tasks_per_execution": 50,
        "exact_queue_depth": True,
    }


@pytest.mark.parametrize("raw", [SEED_CONFIG, rich_config(), {"task_config": {}}], ids=["seed", "rich", "empty"])
def test_to_dict_round_trips_and_is_json(raw: dict[str, Any]) -> None:
    config = parse_config(raw)
    canonical = config.to_dict()
    assert parse_config(canonical) == config
    assert parse_config(json.dumps(canonical)) == config
    assert json.loads(json.dumps(canonical)) == canonical


def test_to_dict_keeps_table_names_given_as_arguments() -> None:
    mine = Tables("t", "t_gf", "t_closed", "t_closed_idx", "t_retry", "t_retry_idx")
    config = parse_config({"task_config": {}}, tables=mine)
    assert parse_config(config.to_dict()).tables == mine


def test_to_dict_is_sosws_shape() -> None:
    canonical = parse_config(SEED_CONFIG).to_dict()
    labourer = canonical["task_config"]["labourers"]["some_function"]
    assert labourer["max_simultaneous_invocations"] == 10
    assert labourer["health_metrics"]["SomeDBCPU"] == {
        "details": {
            "MetricName": "CPUUtilization",
            "Namespace": "AWS/RDS",
            "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "YOUR-DB"}],
            "Period": 60,
            "Statistics": ["Average"],
            "MetricAggregationTimeSlice": 300,
        },
        "feelings": {"4": 25.0, "3": 50.0},
        "feeling_comparison_operator": "<=",
        "no_data_status": 0,
    }
    assert canonical["invocation_number_coefficient"] == {"0": 0.0, "1": 0.0, "2": 0.5, "3": 0.75, "4": 1.0}
    assert canonical["max_tasks_per_execution"] == 100_000
    assert canonical["exact_queue_depth"] is False


# ---- target tracking (issue 14) ---------------------------------------------------------------------------------


def tracking(**overrides: Any) -> dict[str, Any]:
    return {"metric": "DBCPU", "target": 60, **overrides}


def test_target_tracking_is_read_and_travels_in_the_canonical_form() -> None:
    raw = minimal(
        max_simultaneous_invocations=10,
        health_metrics={"DBCPU": metric()},
        target_tracking=tracking(direction="below", floor=1, max_step=3, tolerance=1.5, cut_margin=20),
    )
    config = parse_config(raw)
    (labourer,) = config.labourers
    assert labourer.target_tracking == TargetTracking("DBCPU", 60.0, Direction.BELOW, 1, 3, 1.5, 20.0)
    assert labourer.tracked_metric() is labourer.health_metrics[0]
    assert parse_config(config.to_dict()) == config


def test_the_tracked_metric_may_come_without_feelings_and_then_sets_no_status() -> None:
    config = parse_config(
        minimal(health_metrics={"DBCPU": {"details": metric()["details"]}}, target_tracking=tracking())
    )
    (labourer,) = config.labourers
    assert labourer.health_metrics[0].feelings == ()
    assert parse_config(config.to_dict()) == config


def test_a_config_without_target_tracking_has_none_and_its_canonical_form_is_unchanged() -> None:
    config = parse_config(SEED_CONFIG)
    assert all(labourer.target_tracking is None for labourer in config.labourers)
    assert "target_tracking" not in json.dumps(config.to_dict())


@pytest.mark.parametrize(
    ("target_tracking", "metrics", "path", "fragment"),
    [
        (tracking(metric="Other"), {"DBCPU": metric()}, "target_tracking.metric", "not one of this labourer's"),
        (tracking(), None, "target_tracking", "needs the metric in this labourer's health_metrics"),
        ({"metric": "DBCPU"}, {"DBCPU": metric()}, "target_tracking.target", "missing required key 'target'"),
        (tracking(target="60"), {"DBCPU": metric()}, "target_tracking.target", "expected a number"),
        (tracking(direction="under"), {"DBCPU": metric()}, "target_tracking.direction", "'below', 'above'"),
        (tracking(floor=-1), {"DBCPU": metric()}, "target_tracking.floor", "non-negative integer"),
        (tracking(max_step=0), {"DBCPU": metric()}, "target_tracking.max_step", "positive integer"),
        (tracking(tolerance=-2), {"DBCPU": metric()}, "target_tracking.tolerance", ">= 0"),
        (tracking(gain=2), {"DBCPU": metric()}, "target_tracking.gain", "unknown key"),
        ("60%", {"DBCPU": metric()}, "target_tracking", "expected an object"),
        (tracking(metric="Other"), {"Other": {"details": {}}}, "health_metrics.Other.details.MetricName", "missing"),
    ],
)
def test_bad_target_tracking_names_the_path(target_tracking: Any, metrics: Any, path: str, fragment: str) -> None:
    labourer: dict[str, Any] = {"target_tracking": target_tracking}
    if metrics is not None:
        labourer["health_metrics"] = metrics
    error = problems_of(minimal(**labourer))
    full = f"task_config.labourers.worker.{path}"
    assert full in error.paths, error
    assert any(fragment in reason for where, reason in error.problems if where == full), error.problems


def test_an_untracked_metric_still_needs_its_feelings() -> None:
    raw = minimal(
        health_metrics={"DBCPU": metric(), "Other": {"details": metric()["details"]}}, target_tracking=tracking()
    )
    assert "task_config.labourers.worker.health_metrics.Other.feelings" in problems_of(raw).paths


def test_the_target_tracking_page_s_example_is_a_valid_config() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "target-tracking.md").read_text()
    (example,) = page.split("```json\n")[1:]
    config = parse_config(example.split("```")[0])
    (labourer,) = config.labourers
    assert labourer.target_tracking == TargetTracking("InvoicesDBCPU", 60.0)


# ---- what CloudWatch would drop, refused when the config is parsed (issue 23) ------------------------------------


@pytest.mark.parametrize(
    ("labourer_id", "reason"),
    [
        ("café", "only printable ASCII characters, got a non-ASCII character 'é' at position 3"),
        ("   ", "at least one character that is not whitespace"),
        ("tab\there", "only printable ASCII characters, got a control character '\\t' at position 3"),
        ("x" * 1025, "at most 1,024 characters, got 1,025"),
    ],
)
def test_a_labourer_id_cloudwatch_would_drop_as_a_dimension_is_refused_by_path(labourer_id: str, reason: str) -> None:
    raw = {"task_config": {"labourers": {labourer_id: {"arn": "a"}}}}
    error = problems_of(raw)
    assert error.problems == [
        (f"task_config.labourers.{labourer_id}", f"a labourer id is the Labourer dimension of its metrics: {reason}")
    ]


def test_the_longest_ascii_labourer_id_cloudwatch_takes_is_accepted() -> None:
    config = parse_config({"task_config": {"labourers": {"x" * 1024: {"arn": "a"}, "a b-c_d.e:f/g": {"arn": "b"}}}})
    assert [len(labourer.id) for labourer in config.labourers] == [1024, 13]


def test_closed_tasks_ttl_is_off_by_default_and_a_positive_number_of_days() -> None:
    assert parse_config({"task_config": {"labourers": {}}}).closed_tasks_ttl_days is None
    config = parse_config({"task_config": {"labourers": {}}, "closed_tasks_ttl_days": 90})
    assert config.closed_tasks_ttl_days == 90
    assert parse_config(config.to_dict()) == config
    assert problems_of({"task_config": {"labourers": {}}, "closed_tasks_ttl_days": 0}).problems == [
        ("closed_tasks_ttl_days", "expected a positive integer, got 0")
    ]
