"""The benchmark's measuring code: the API-call meter counts exactly the calls made, and the report's arithmetic
(medians, per-task and per-labourer figures, Foreman/sosw ratios, tables) is right. No timing is asserted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from benchmarks.__main__ import parse_args, sweep_runs
from benchmarks.meter import ApiMeter, CallLog, function_name, mark_harness
from benchmarks.report import (
    FOREMAN,
    SOSW,
    DepthPoint,
    RunSample,
    comparison_document,
    comparison_rows,
    depth_rows,
    operation_rows,
    ratio,
    render_table,
    summarize,
)
from benchmarks.workload import Bench, labourer_ids
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore

REGION = "us-east-1"
TASKS = "sosw_tasks"
LABOURER_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:worker-a"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A harness DynamoDB client (its calls never count) on moto, with a tasks table holding three items."""
    with mock_aws():
        client = mark_harness(boto3.client("dynamodb", region_name=REGION))
        client.create_table(
            TableName=TASKS,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "task_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
        )
        for number in range(3):
            client.put_item(TableName=TASKS, Item={"task_id": {"S": f"t{number}"}, "greenfield": {"N": "2000"}})
        yield client


def claim(client: Any, task_id: str) -> None:
    client.update_item(
        TableName=TASKS,
        Key={"task_id": {"S": task_id}},
        UpdateExpression="SET greenfield = :invoked",
        ConditionExpression="greenfield < :start",
        ExpressionAttributeValues={":invoked": {"N": "9999999999"}, ":start": {"N": "1700000000"}},
    )


def test_the_meter_counts_every_call_by_operation_and_splits_per_task_calls(dynamodb: Any) -> None:
    meter = ApiMeter(task_functions=[LABOURER_ARN], tasks_table=TASKS)

    with meter.measure() as log:
        client = boto3.client("dynamodb", region_name=REGION)  # created inside the window, like moto's and sosw's
        client.describe_table(TableName=TASKS)
        client.scan(TableName=TASKS)  # reads 3 items
        client.query(
            TableName=TASKS,
            KeyConditionExpression="task_id = :id",
            ExpressionAttributeValues={":id": {"S": "t1"}},
        )  # reads 1 item
        claim(client, "t0")
        with pytest.raises(ClientError, match="ConditionalCheckFailed"):
            claim(client, "t0")  # lost: answered with an error, still one call
        dynamodb.get_item(TableName=TASKS, Key={"task_id": {"S": "t0"}})  # the harness: not counted

    assert dict(log.calls) == {
        "dynamodb.DescribeTable": 1,
        "dynamodb.Scan": 1,
        "dynamodb.Query": 1,
        "dynamodb.UpdateItem": 2,
    }
    assert dict(log.task_calls) == {"dynamodb.UpdateItem": 2}
    assert (log.total, log.task_total, log.control_total) == (5, 2, 3)
    assert dict(log.errors) == {"dynamodb.UpdateItem:ConditionalCheckFailedException": 1}
    assert log.items_read == 4


def test_the_meter_counts_calls_from_other_threads_and_nothing_outside_its_window(dynamodb: Any) -> None:
    meter = ApiMeter(tasks_table=TASKS)
    client = boto3.client("dynamodb", region_name=REGION)
    client.list_tables()  # before the window

    def describe() -> None:
        for _ in range(5):
            boto3.client("dynamodb", region_name=REGION).describe_table(TableName=TASKS)

    with meter.measure() as log:
        threads = [threading.Thread(target=describe) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    client.list_tables()  # after it

    assert dict(log.calls) == {"dynamodb.DescribeTable": 20}
    with meter.measure(), pytest.raises(RuntimeError, match="already active"), meter.measure():
        pass


def test_labourer_invokes_and_tasks_table_updates_are_per_task_calls() -> None:
    meter = ApiMeter(task_functions=["worker-a"], tasks_table=TASKS)

    assert meter.is_task_call("lambda", "Invoke", {"FunctionName": LABOURER_ARN})
    assert meter.is_task_call("lambda", "Invoke", {"FunctionName": "worker-a"})
    assert not meter.is_task_call("lambda", "Invoke", {"FunctionName": "foreman-LoadConfigFunction"})
    assert not meter.is_task_call("lambda", "GetFunctionConfiguration", {"FunctionName": LABOURER_ARN})
    assert meter.is_task_call("dynamodb", "UpdateItem", {"TableName": TASKS})
    assert not meter.is_task_call("dynamodb", "UpdateItem", {"TableName": "sosw_closed_tasks"})
    assert not meter.is_task_call("dynamodb", "Query", {"TableName": TASKS})
    assert function_name(f"{LABOURER_ARN}:live") == "worker-a"
    assert function_name("123456789012:function:worker-a") == "worker-a"


PER_TASK = {"dynamodb.UpdateItem": 100, "lambda.Invoke": 100}
SOSW_CONTROL = {"dynamodb.Query": 30, "lambda.GetFunctionConfiguration": 10}
FOREMAN_CONTROL = {"lambda.Invoke": 4, "dynamodb.Query": 10, "ssm.GetParameter": 1, "stepfunctions.StartExecution": 1}


def sample(
    orchestrator: str,
    seconds: float,
    invoked: int,
    control: dict[str, int],
    *,
    task: dict[str, int] | None = None,
    items_read: int = 0,
    **extra: Any,
) -> RunSample:
    """A run that made the ``task`` (default 100 claims + 100 invokes) and ``control`` calls."""
    log = CallLog(items_read=items_read)
    log.task_calls.update(PER_TASK if task is None else task)
    log.calls.update(log.task_calls)
    log.calls.update(control)
    return RunSample.from_log(orchestrator, log, labourers=5, seconds=seconds, invoked=invoked, **extra)


def test_summaries_take_medians_and_derive_per_task_and_per_labourer_figures() -> None:
    sosw = summarize(
        [sample(SOSW, seconds, 100, SOSW_CONTROL, items_read=5000) for seconds in (5.0, 3.0, 4.0, 9.0, 6.0)]
    )
    foreman = summarize(
        [
            sample(FOREMAN, 2.0, 100, FOREMAN_CONTROL, items_read=100, state_transitions=215, history_events=1266),
            sample(FOREMAN, 4.0, 100, FOREMAN_CONTROL, items_read=100, state_transitions=215, history_events=1266),
        ]
    )

    assert (sosw.runs, sosw.seconds, sosw.invoked) == (5, 5.0, 100)
    assert (sosw.total_calls, sosw.task_call_total, sosw.control_call_total) == (240, 200, 40)
    assert sosw.calls_per_task == pytest.approx(2.4)
    assert sosw.task_calls_per_task == pytest.approx(2.0)
    assert sosw.control_calls_per_labourer == pytest.approx(8.0)
    assert sosw.control_calls == {"dynamodb.Query": 30, "lambda.GetFunctionConfiguration": 10}
    assert sosw.transitions_per_task is None
    assert sosw.calls_identical_in_every_run
    assert foreman.seconds == pytest.approx(3.0)
    assert (foreman.total_calls, foreman.control_call_total) == (216, 16)
    assert foreman.control_calls_per_labourer == pytest.approx(3.2)
    assert foreman.transitions_per_task == pytest.approx(2.15)
    assert foreman.events_per_task == pytest.approx(12.66)

    document = comparison_document(sosw, foreman)
    assert document["ratios_foreman_over_sosw"]["calls"] == pytest.approx(216 / 240)
    assert document["ratios_foreman_over_sosw"]["control_calls_per_labourer"] == pytest.approx(0.4)
    assert document["ratios_foreman_over_sosw"]["seconds"] == pytest.approx(0.6)
    rows = {row[0]: row[1:] for row in comparison_rows(sosw, foreman)}
    assert rows["API calls per run"] == ["240", "216", "0.90"]
    assert rows["control-plane calls per labourer per run"] == ["8.00", "3.20", "0.40"]
    assert rows["items read by Query/Scan per run"] == ["5,000", "100", "0.02"]
    assert rows["state transitions per invoked task"] == ["-", "2.15", "-"]
    operations = {row[0]: row[1:] for row in operation_rows(sosw, foreman)}
    assert operations["lambda.Invoke [per task]"] == ["100", "100"]
    assert operations["lambda.Invoke [control plane]"] == ["0", "4"]
    assert operations["total"] == ["240", "216"]


def test_counts_take_the_lower_median_and_runs_that_differ_are_flagged() -> None:
    runs = [sample(SOSW, 1.0, invoked, {"dynamodb.Query": queries}, task={}) for invoked, queries in ((10, 3), (12, 5))]

    summary = summarize(runs)

    assert (summary.invoked, summary.calls) == (10, {"dynamodb.Query": 3})
    assert not summary.calls_identical_in_every_run
    with pytest.raises(ValueError, match="different orchestrators"):
        summarize([*runs, sample(FOREMAN, 1.0, 10, {}, task={})])


def test_ratios_and_depth_rows() -> None:
    assert ratio(3, 4) == 0.75
    assert ratio(3, 0) is None
    assert ratio(None, 4) is None
    point = DepthPoint(
        depth=10_000,
        sosw=summarize([sample(SOSW, 2.0, 20, {"dynamodb.Query": 6}, task={}, items_read=7172)]),
        foreman=summarize([sample(FOREMAN, 1.0, 20, {"dynamodb.Query": 2}, task={}, items_read=20)]),
        query_seconds=0.25,
    )

    (row,) = depth_rows([point])

    assert row == ["10,000", "20", "6", "2", "7,172", "20", "0.003", "2.000", "1.000", "0.50", "0.250"]
    assert point.figures()["ratios_foreman_over_sosw"]["items_read"] == pytest.approx(20 / 7172)


def test_tables_align_their_columns() -> None:
    table = render_table(["", "sosw", "Foreman"], [["calls", "240", "216"], ["items read", "5,000", "100"]])

    lines = table.splitlines()
    assert lines[0] == "             sosw  Foreman"
    assert lines[1] == "----------  -----  -------"
    assert lines[2] == "calls         240      216"
    assert lines[3] == "items read  5,000      100"
    assert len({len(line) for line in lines}) == 1
    with pytest.raises(ValueError, match="cells"):
        render_table(["a", "b"], [["1"]])


def test_quick_fills_in_small_sizes_and_explicit_options_win() -> None:
    quick = parse_args(["--quick", "--runs", "2", "--depths", "100,1k"])

    assert (quick.labourers, quick.runs, quick.depths) == (2, 2, (100, 1000))
    assert quick.output.name == "quick.json"
    full = parse_args([])
    assert (full.labourers, full.depth, full.cap, full.depths) == (5, 1000, 20, (100, 1000, 10000, 100000))
    assert parse_args(["--depths", ""]).depths == ()
    assert [sweep_runs(full, depth) for depth in full.depths] == [3, 3, 3, 1]  # one run at 100,000: a minute each
    assert [sweep_runs(parse_args(["--sweep-runs", "2"]), depth) for depth in (100, 100_000)] == [2, 2]
    assert (full.throughput, full.sizes, full.parts[-1]) == ((10, 500, 600), (500, 2_000, 5_000), "throughput")
    assert parse_args(["--parts", "throughput,cost", "--throughput", ""]).parts == ("throughput", "cost")
    assert parse_args(["--throughput", ""]).throughput == ()
    with pytest.raises(SystemExit):
        parse_args(["--parts", "nope"])


@pytest.mark.slow
def test_a_known_run_of_each_orchestrator_is_counted_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two labourers with 8 queued tasks each and a cap of 3, on the embedded stack
    for name in ("POWERTOOLS_LOG_LEVEL", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.setenv(name, "WARNING")  # the bench sets both; the monkeypatch puts them back afterwards
    with Bench(labourer_ids(2), cap=3) as bench:
        bench.fill(8)

        # When each orchestrator runs once, then sosw once more
        sosw = bench.run(SOSW)
        foreman = bench.run(FOREMAN)
        assert bench.last_execution is not None
        history = bench.last_execution.history
        again = bench.run(SOSW)
        store = TaskStore(bench.stack.client("dynamodb"), Tables())
        queued = [store.queue_length(name) for name in bench.labourers]
        cold_start = dict(bench.sosw_cold_start.calls)

    # Then both made one claim and one invoke per invoked task
    for run in (sosw, foreman, again):
        assert run.invoked == 6
        assert run.task_calls == {"dynamodb.UpdateItem": 6, "lambda.Invoke": 6}
    # sosw's per-labourer lookups (sosw-reference 1.2): GetFunctionConfiguration twice, four closed-table queries,
    # the running count and the next-tasks query, which reads the whole (short) queue
    assert sosw.calls == {
        "dynamodb.Query": 12,
        "dynamodb.UpdateItem": 6,
        "lambda.GetFunctionConfiguration": 4,
        "lambda.Invoke": 6,
    }
    assert sosw.items_read == 16
    assert "glue.GetTable" in cold_start
    # every call Foreman's state machines made themselves (Lambda steps, claims, invokes, StartInvocations) is a
    # TaskScheduled event of the run's executions (the Orchestrator, its Invocations execution, its children)
    scheduled = sum(1 for event in history if event["type"] == "TaskScheduled")
    # (but the lease's two UpdateItems, made by the ComputeEcology and Summarize functions: take and give back; and
    # the harness's StartExecution of the Orchestrator)
    starts = foreman.calls["stepfunctions.StartExecution"]
    assert scheduled == foreman.calls["lambda.Invoke"] + foreman.calls["dynamodb.UpdateItem"] - 2 + starts - 1
    assert starts == 2  # the harness's (as the schedule would start the run) and StartInvocations
    assert foreman.state_transitions == sum(1 for event in history if event["type"].endswith("StateEntered"))
    assert foreman.history_events == len(history)
    # and the queue was put back after every run: the second sosw run made the same calls on the same data
    assert again.calls == sosw.calls
    assert again.items_read == sosw.items_read
    assert queued == [8, 8]


def test_the_overlap_part_measures_the_peak_against_the_cap() -> None:
    from benchmarks.overlap import overlap_rows, run_overlap

    leased = run_overlap(executions=4, cap=3, max_gap=0.1, seed=1, with_lease=True)
    baseline = run_overlap(executions=1, cap=3, max_gap=0.0, seed=1, with_lease=False)  # one run: nothing to overlap

    assert (leased.peak_in_flight, leased.invoked, leased.peak_over_cap) == (3, 3, 1.0)
    assert (baseline.peak_in_flight, baseline.busy_runs) == (3, 0)
    rows = overlap_rows(baseline, leased)
    assert rows[0] == ["peak in flight / cap", "1.00", "1.00", "1.00"]


def test_the_cost_part_prices_each_execution_of_a_run_from_its_own_figures() -> None:
    import dataclasses

    from benchmarks.cost import CostRun, child_limits, goal_verdicts, log_record_bytes, run_cost_line

    standard = CostRun(
        "STANDARD", tasks=1000, transitions=6, events=26, log_bytes=0, billed_ms=0, billed_mb=0,
        largest_state_bytes=2_000, seconds=1.0, read_units=30.0, invocations_transitions=2, children=1,
        children_billed_ms=60_000, largest_child_state_bytes=200_000, longest_child_ms=60_000, s3_puts=3, s3_gets=4,
    )  # fmt: skip
    express = dataclasses.replace(
        standard, orchestrator_type="EXPRESS", log_bytes=1_000_000, billed_ms=500, billed_mb=64
    )
    # Standard: 6 transitions of the Orchestrator; both: the Invocations execution's 2 and 1 for its one child
    assert standard.orchestrator == pytest.approx(6 * 0.025 / 1000)
    assert standard.invocations == express.invocations == pytest.approx(3 * 0.025 / 1000)
    # Express: 1 request, 0.5 s x 64 MB, and ~0.93 MiB of log at $0.50 per GB
    assert express.orchestrator == pytest.approx(1e-6 + 0.5 * (64 / 1024) * 0.00001667 + 1_000_000 / 1024**3 * 0.50)
    # the child: one request and 60 s at 64 MB
    assert standard.children_cost == pytest.approx(1e-6 + 60 * (64 / 1024) * 0.00001667)
    assert standard.step_functions == pytest.approx(
        standard.orchestrator + standard.invocations + standard.children_cost
    )
    assert standard.the_rest == express.the_rest  # the Lambda steps, S3 and DynamoDB do not depend on the type
    assert standard.per_million_tasks(standard.total) == pytest.approx(standard.total * 1000)
    # a run's cost is a fixed part and a part per task: two sizes give both, and the fewest tasks a run for the goal
    small = CostRun("STANDARD", 10, 6, 26, 0, 0, 0, 2_000, 1.0, read_units=1.0, invocations_transitions=2, children=1)
    fixed, per_task = run_cost_line(small, standard)
    assert per_task is not None
    assert fixed > 0
    assert per_task > 0
    assert fixed + per_task * 1000 == pytest.approx(standard.total)
    (verdict,) = goal_verdicts([small, standard])
    assert verdict.startswith("STANDARD: $")
    assert "tasks a run" in verdict
    limits = child_limits([small, standard])
    assert limits is not None
    assert limits["fits"]
    assert limits["largest_child_state_bytes"] == 200_000
    record = log_record_bytes({"id": 3, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "A"}}, "arn")
    assert record > len('{"name": "A"}')


def test_the_cost_part_runs_each_type_on_the_embedded_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.cost import measure

    for name in ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL"):
        monkeypatch.setenv(name, "WARNING")
    standard, express = measure("STANDARD", 5), measure("EXPRESS", 5)

    # the same definitions, the same states entered: the Orchestrator's few, the Invocations execution's Map and
    # Summarize, and one child for the one labourer's group
    assert standard.transitions == express.transitions < 10
    assert (standard.invocations_transitions, standard.children) == (express.invocations_transitions, 1) == (2, 1)
    assert (standard.billed_ms, express.billed_mb) == (0, 64)
    assert express.billed_ms >= 100
    assert standard.children_billed_ms >= 100
    assert express.log_bytes > 1000  # level ALL on Express; Standard and the children log at ERROR: nothing here
    assert standard.log_bytes == standard.children_log_bytes == 0
    assert standard.s3_puts >= 2
    assert standard.s3_gets >= 2
    assert express.per_million_tasks(express.orchestrator) < standard.per_million_tasks(standard.orchestrator)


def test_the_throughput_part_invokes_every_cap_in_one_run_and_keeps_the_run_wide_executions_flat() -> None:
    from benchmarks.throughput import (
        SWEEP_HEADERS,
        THROUGHPUT_HEADERS,
        run_throughput,
        sweep_point,
        sweep_rows,
        throughput_rows,
    )
    from foreman.local.stack import environment

    # Given 2 labourers with 5 tasks queued each and a cap of 4: goal 8 in one run, for sosw and each Foreman shape
    runs = run_throughput(2, 4, 5)

    assert [run.label for run in runs] == ["sosw", "Foreman STANDARD", "Foreman EXPRESS"]
    assert all((run.queued, run.goal, run.invoked) == (10, 8, 8) for run in runs)
    standard, express = (run.wide for run in runs[1:])
    assert standard is not None
    assert express is not None
    assert standard.children == express.children == 2  # one group per labourer
    # the same definitions: the same run-wide events on either shape
    assert (standard.orchestrator_events, standard.invocations_events) == (
        express.orchestrator_events,
        express.invocations_events,
    )
    assert len(throughput_rows(runs)[0]) == len(THROUGHPUT_HEADERS)

    # When one run takes 20, then 100 tasks over 10 labourers, in groups of at most 5
    with environment({"FOREMAN_GROUP_TASKS": "5"}):
        small, large = sweep_point(20), sweep_point(100)

    # Then each invokes every task, the run-wide executions have the same events and about the same largest state,
    # and only the children multiply: one per labourer, then two
    assert (small.invoked, large.invoked) == (20, 100)
    assert small.wide.run_wide_events == large.wide.run_wide_events
    assert abs(large.wide.largest_state_bytes - small.wide.largest_state_bytes) < 64
    assert (small.wide.children, large.wide.children) == (10, 20)
    assert large.wide.child_events > 4 * small.wide.child_events
    assert len(sweep_rows([small, large])[1]) == len(SWEEP_HEADERS)


def test_the_tracking_part_runs_feelings_and_target_tracking_on_the_same_database() -> None:
    from benchmarks.tracking import run_tracking, tracking_figures, tracking_rows

    runs = run_tracking(3, targets=(60.0,))
    assert list(runs) == ["feelings", "target 60"]
    feelings, target = runs["feelings"], runs["target 60"]
    assert [minute.invoked for minute in feelings][:2] == [10, 0]  # the whole cap on a quiet database, then Bad (90)
    allowed = [minute.tracking["allowed"] for minute in target if minute.tracking]
    assert allowed[:2] == [1, 2]  # from the floor, by at most max_step (2) per datapoint
    assert 2 < allowed[2] <= 4
    assert [minute.cpu for minute in target] == [20 + 7 * n for n in allowed]  # every allowed task started
    rows = tracking_rows(runs)
    assert rows[0][1:] == ["0", "90", "90.0", "-", "1.00x"]  # no task of 3-5 minutes is done in 3 minutes
    figures = tracking_figures(runs)
    assert figures["target 60"]["worst_cpu"] == 20 + 7 * allowed[2]
    assert figures["target 60"]["worst_cpu_ratio"] == round((20 + 7 * allowed[2]) / 90, 2)


def test_the_reads_part_shows_units_growing_with_item_size_and_the_fetch_holding_the_runs_payloads() -> None:
    from benchmarks.reads import READS_HEADERS, measure_reads, reads_rows

    small, large = measure_reads(100, 30), measure_reads(60_000, 30)

    # 30 small items fit in one 4 KB block per request; 30 of 60 KB are 15 blocks each, half a unit a block
    assert small.total_units < 5
    assert large.fetch_units >= 30 * 15 / 2
    # ComputeEcology: nothing running, one empty COUNT (half a unit); whether tasks wait, the queue's head read whole
    assert small.compute_ecology_units == 0.5 + 0.5
    assert large.compute_ecology_units == 0.5 + 15 / 2
    # the one list holds the 1.8 MB of payloads whole (items and attributes); the shipped fetch keeps each task's
    # payload text for its claim (run_limits.RUN_PAYLOAD_BYTES_MOST bounds a run's), reading one page at a time
    assert large.whole_list_peak_bytes > 30 * 60_000
    assert 30 * 60_000 < large.paged_peak_bytes < 2 * large.whole_list_peak_bytes
    assert len(reads_rows([small, large])[1]) == len(READS_HEADERS)


def test_the_labourers_part_measures_calls_state_and_history_per_config_size() -> None:
    from benchmarks.labourers import SWEEP_HEADERS, run_point, sweep_rows

    small, large = run_point(20), run_point(60)

    # one in twenty labourers has 6 tasks and a cap of 4, and datapoints (one in ten has them): healthy
    assert (small.labourers, small.busy, large.busy) == (20, 1, 3)
    assert (small.invoked, large.invoked) == (4, 12)
    # three distinct metrics a labourer, at most 500 a GetMetricData call
    assert (small.metric_calls, large.metric_calls) == (1, 1)
    # the state grows with the labourers by their report lines only: well under a kilobyte each
    assert large.largest_state_bytes < 60 * 200
    assert large.history_events < small.history_events * 3  # only busy labourers enter the Map
    assert len(sweep_rows([small, large])[1]) == len(SWEEP_HEADERS)


def test_the_bill_models_dynamodb_units_from_each_call() -> None:
    from benchmarks.bill import units

    assert units("Query", {}, {"ScannedCount": 0}) == (0.5, 0.0)  # an empty answer still costs half a unit
    assert units("Query", {}, {"ScannedCount": 9}) == (1.5, 0.0)  # 9 small items: 3 blocks of 4 KB
    assert units("GetItem", {"ConsistentRead": True}, {"Item": {}}) == (1.0, 0.0)
    assert units("UpdateItem", {"TableName": "sosw_tasks"}, {}) == (0.0, 2.0)  # the table and its index
    assert units("DeleteItem", {"TableName": "foreman-coordination"}, {}) == (0.0, 1.0)
    moves = {"TransactItems": [{"Put": {"TableName": "sosw_closed_tasks"}}, {"Delete": {"TableName": "sosw_tasks"}}]}
    assert units("TransactWriteItems", moves, {}) == (0.0, 8.0)  # twice, as a transaction


def test_the_bill_part_prices_an_idle_and_a_loaded_minute_by_service() -> None:
    from benchmarks.bill import SERVICES, bill_rows, measure

    point = measure("STANDARD", 10)

    assert set(point.idle) == set(SERVICES) == set(point.loaded)
    assert point.idle["GetMetricData"] == 0  # nothing waits: no health is read
    assert point.loaded["GetMetricData"] > 0
    assert point.idle_total < 50 < point.loaded_total  # idle: the fixed charges and a few transitions
    # the work adds the run's Invocations execution (its transitions and one per child) and its Express children
    assert point.loaded["Step Functions"] > point.idle["Step Functions"]
    (idle_row, loaded_row) = bill_rows([point])
    assert (idle_row[-2], idle_row[-1], loaded_row[-1]) == ("1.00", "-", "1.00")  # its own baseline


def test_the_bill_prices_each_step_at_its_memory_in_the_template() -> None:
    from benchmarks.bill import STEP_GB, step_gb

    # FetchGreenfieldTasks and Summarize hold a run's payloads (2,048 MB); the other steps have the Globals' 256 MB
    assert step_gb("foreman-FetchGreenfieldTasksFunction") == step_gb("foreman-SummarizeFunction") == 2.0
    assert step_gb("foreman-LoadConfigFunction") == STEP_GB == 0.25
    assert step_gb("foreman-NoSuchFunction") == STEP_GB
