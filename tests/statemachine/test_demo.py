"""``foreman local demo``, run once as a user runs it: the real Orchestrator each tick, a table per tick, a picture.

The run is ``foreman.cli.main(["local", "demo", ...])`` with its default scenario and its default 15 ticks (a
database's datapoint describes the minute that just ended, so ``reports`` recovers at tick 14); ``run_demo`` is
wrapped only to keep its result for the assertions. The picture must be a valid PNG, ``reports`` must really be
throttled by its database's CPU and recover, ``invoices`` must hold its database at its target, and ``thumbnails``
must run at full speed throughout.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from foreman import cli, demo
from foreman.picture import PNG_SIGNATURE, HandOver, entered_counts, layers, layout, parse_graph
from foreman_core.config import STATUS_NAMES

TICKS = 15


@dataclass
class DemoRun:
    code: int
    output: str
    result: demo.DemoResult
    picture: Path


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    picture = tmp_path_factory.mktemp("demo") / "out" / "foreman-demo.png"
    results: list[demo.DemoResult] = []
    real = demo.run_demo

    def keep(options: demo.DemoOptions, out: Any) -> demo.DemoResult:
        results.append(real(options, out))
        return results[-1]

    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(printed):
        patch.setattr(demo, "run_demo", keep)
        code = cli.main(["local", "demo", "--ticks", str(TICKS), "--output", str(picture)])
    assert results, printed.getvalue()
    return DemoRun(code, printed.getvalue(), results[0], picture)


def test_the_demo_succeeds_and_names_its_picture(demo_run: DemoRun) -> None:
    assert demo_run.code == 0, demo_run.output
    assert demo_run.result.ok
    assert len(demo_run.result.ticks) == TICKS
    assert f"Picture: {demo_run.picture} (" in demo_run.output
    assert "FAIL" not in demo_run.output
    assert demo_run.result.seconds < 60


def test_the_picture_is_a_valid_png(demo_run: DemoRun) -> None:
    data = demo_run.picture.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    assert zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0]  # the IHDR chunk's CRC
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == demo_run.result.picture_size
    assert width >= 1000
    assert height >= 700
    with Image.open(demo_run.picture) as image:
        image.verify()  # every chunk's CRC, the image data
    with Image.open(demo_run.picture) as image:
        assert (image.format, image.size) == ("PNG", (width, height))
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None
        assert len(colours) > 50  # a drawing, not a blank canvas


def test_every_tick_printed_its_table(demo_run: DemoRun) -> None:
    for tick in demo_run.result.ticks:
        header = f"tick {tick.number}/{TICKS} "
        assert header in demo_run.output
        block = demo_run.output.split(header, 1)[1].split("\n\n", 1)[0].splitlines()
        assert block[1].split() == ["labourer", "status", "running", "desired", "invoked", "queued", "done"]
        for line, row in zip(block[2:], tick.rows.values(), strict=True):
            assert line.split() == [
                row.labourer_id,
                str(row.status),
                STATUS_NAMES[row.status],
                *map(str, (row.running, row.desired, row.invoked, row.queued, row.done)),
            ]


def test_reports_is_throttled_by_its_database_and_recovers(demo_run: DemoRun) -> None:
    ticks = demo_run.result.ticks
    statuses = demo_run.result.series("reports", "status")
    invoked = demo_run.result.series("reports", "invoked")
    assert statuses[0] == 4
    assert invoked[0] == 10  # a quiet database: the full cap
    dropped = next(index for index, status in enumerate(statuses) if status < 4)
    assert min(statuses) == 0  # overloaded: not a single new report
    assert invoked[dropped] < 10
    assert ticks[dropped].metric > 40  # because the CPU rose with the reports running
    # the status follows the database's CPU through the feelings {4: 40, 3: 60, 2: 80} ('<=') at every tick where
    # reports wait; once the queue is empty its health is not read (status 4: nothing is held back)
    waiting = [index == 0 or ticks[index - 1].rows["reports"].queued > 0 for index in range(len(ticks))]
    assert waiting[dropped]
    for tick, waits in zip(ticks, waiting, strict=True):
        cpu = tick.metric
        expected = (4 if cpu <= 40 else 3 if cpu <= 60 else 2 if cpu <= 80 else 0) if waits else 4
        assert tick.rows["reports"].status == expected, (tick.number, cpu, waits)
    assert ticks[-1].rows["reports"].queued == 0  # and every report was started


def test_thumbnails_runs_at_full_speed_throughout(demo_run: DemoRun) -> None:
    for tick in demo_run.result.ticks:
        row = tick.rows["thumbnails"]
        assert (row.status, row.desired, row.invoked) == (4, 4, 4), tick.number
    assert demo_run.result.ticks[-1].rows["thumbnails"].queued == 60 - 4 * TICKS


def test_invoices_climbs_to_its_target_and_holds_its_database_there(demo_run: DemoRun) -> None:
    ticks = demo_run.result.ticks
    cpus = [tick.tracked_metric for tick in ticks]
    assert cpus[0] == 20  # a quiet database, and a controller that starts at its floor
    assert all(cpu is not None and cpu <= 75 for cpu in cpus), cpus  # never more than 15 points above 60
    assert all(cpu is not None and abs(cpu - 60) <= 5 for cpu in cpus[7:]), cpus
    steps = [tick.tracking for tick in ticks]
    assert all(step is not None and step["metric"] == "InvoicesDBCPU" and step["target"] == 60 for step in steps)
    allowed = [step["allowed"] for step in steps if step is not None]
    assert allowed[:3] == [1, 2, 3]  # gradual: at most max_step (2 for a cap of 10) more per datapoint
    # issue 25, item 16: the whole tasks allowed are those under the allowance (6 x 60/62 = 5.8 allows 5): past the
    # target it comes down, so the CPU does not park at 62 (it alternates between 55 and 62 around 60)
    assert all(step["allowed"] == int(step["allowance"] + 1e-9) for step in steps if step is not None)
    assert all(
        step["allowed"] < step["previous"] for step in steps if step is not None and step["reason"] == "decrease"
    )
    assert 55 in cpus[7:]
    assert all(row.running + row.invoked <= max(allowed) for row in (tick.rows["invoices"] for tick in ticks))
    assert f"invoices-db CPU {cpus[-1]:g}% (invoices allowed {allowed[-1]}: " in demo_run.output


def test_no_labourer_ever_exceeds_its_cap(demo_run: DemoRun) -> None:
    caps = {"thumbnails": 4, "reports": 10, "invoices": 10}
    for tick in demo_run.result.ticks:
        for row in tick.rows.values():
            assert row.running + row.invoked <= caps[row.labourer_id]


def test_the_graph_is_drawn_from_the_asl_with_the_last_executions_counts() -> None:
    statemachine = Path(cli.__file__).parents[2] / "statemachine"
    definition = json.loads((statemachine / "orchestrator.asl.json").read_text())
    graph = parse_graph(definition)
    assert layers(graph) == [["LoadConfig"], ["ComputeEcology"], ["FetchGreenfieldTasks"],
                             ["ReturnLeaseAfterFailure", "AnyInvocations"], ["StartInvocations", "Summarize"],
                             ["RunFailed", "InvocationsStarted"]]  # fmt: skip
    placed = layout(graph)
    boxes = [placed.boxes[name] for name in ("LoadConfig", "ComputeEcology", "StartInvocations", "InvocationsStarted")]
    assert [box.y for box in boxes] == sorted(box.y for box in boxes)
    invocations = parse_graph(json.loads((statemachine / "invocations.asl.json").read_text()))
    assert layers(invocations) == [["InvokeLabourers"], ["Summarize"]]
    names = {node.name for node in invocations.all_states()}
    assert {"InvokeTasks", "Claim", "Invoke", "Skipped", "Release", "Released", "LabourerDone"} <= names
    (inner,) = invocations.states["InvokeLabourers"].branches  # the Distributed Map's processor, drawn inside it
    (tasks,) = inner.states["InvokeTasks"].branches
    assert layers(tasks)[:3] == [["ClaimWindow"], ["Redriven", "Late", "Claim"], ["Invoke", "Skipped", "Unclaim"]]
    history = [
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Claim"}},
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Claim"}},
        {"type": "MapStateEntered", "stateEnteredEventDetails": {"name": "InvokeTasks"}},
        {"type": "TaskStateExited", "stateExitedEventDetails": {"name": "Claim"}},
    ]
    assert entered_counts(history) == {"Claim": 2, "InvokeTasks": 1}


def test_the_hand_over_is_drawn_with_its_childrens_states_counted_together() -> None:
    recorded = Path(__file__).parents[1] / "fixtures" / "histories"  # tests/fixtures/record_histories.py

    def events(name: str) -> Any:
        return json.loads((recorded / f"caught-{name}.json").read_text())

    definition = json.loads((Path(cli.__file__).parents[2] / "statemachine" / "invocations.asl.json").read_text())
    run = HandOver(definition, events("invocations"), [events("thumbnails"), events("ghost")]).read()

    counts = run.entered()
    assert (counts["InvokeLabourers"], counts["Summarize"], counts["InvokeTasks"]) == (1, 1, 2)
    assert (counts["Claim"], counts["Invoke"], counts["Release"]) == (6, 6, 2)  # 4 + 2 tasks; ghost's released
    assert run.state_status("Invoke") == "caught"
    assert run.transitions[("Invoke", "Release", True)] == 2
    assert run.transitions[("InvokeLabourers", "Summarize", False)] == 1


def test_the_last_runs_picture_shows_its_invocations_execution_and_children(demo_run: DemoRun) -> None:
    handed_over = demo_run.result.handed_over
    assert handed_over is not None  # thumbnails has tasks at every tick: every run hands over
    last = demo_run.result.ticks[-1]
    invoked = {row.labourer_id for row in last.rows.values() if row.invoked}
    assert "thumbnails" in invoked
    # one child (one group) for each labourer the last run invoked, each with its own InvokeTasks
    assert sorted(json.loads(child[0]["executionStartedEventDetails"]["input"])["labourer_id"]
                  for child in handed_over.children) == sorted(invoked)  # fmt: skip
    assert handed_over.read().entered()["Invoke"] == sum(row.invoked for row in last.rows.values())
