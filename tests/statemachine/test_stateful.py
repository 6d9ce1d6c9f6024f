"""Foreman's invariants against everything at once: a Hypothesis state machine drives the real stack.

Rules create valid and malformed tasks, start overlapping Orchestrator executions (a random count, a random gap
between starts), complete or fail invoked tasks, move the simulated clock, run the Scavenger, and inject the
reliability suite's faults (throttled claims, throttled invokes). After every step:

- conservation: every task created is in exactly one place (``tests.conservation.census``);
- the cap: for every labourer, tasks in flight (claimed, within ``duration + cooldown``, not completed) <= its cap;
- at most one invocation per claim: no (task, attempt) is invoked twice, and no task more often than its attempts;
- no execution failed (``EmbeddedStack.wait`` raises on any status but SUCCEEDED): an item's content never stops
  a run.

The default profile (a few examples of a few steps) fits in ``make test``; ``make soak`` runs the long one.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from foreman.local.stack import EmbeddedStack
from foreman_core.config import Tables
from foreman_core.greenfield import GREENFIELD_INVOCATION_DELTA, RunMarkers
from foreman_core.task_store import Task, TaskStore
from tests.builders import all_items
from tests.conservation import census
from tests.faults import dynamodb_fault, is_claim
from tests.malformed import malformed_family
from tests.statemachine.conftest import LABOURER_ARNS, FakeLabourer, labourer_config

CAPS = {"worker-a": 3, "worker-b": 5}
DURATION = 600
"""Each labourer's ``duration`` (with no cooldown): a task claimed more than this long ago is no longer in flight."""

SOAK = os.environ.get("HYPOTHESIS_PROFILE") == "soak"
_ids = itertools.count()


class ForemanMachine(RuleBasedStateMachine):
    """The real Orchestrator and Scavenger on one embedded stack, with a simulated clock."""

    def __init__(self) -> None:
        super().__init__()
        self.stack = EmbeddedStack(parameters={"LabourerArns": LABOURER_ARNS, "LogLevel": "ERROR"}).__enter__()
        self.now = time.time()
        self.store = TaskStore(self.stack.client("dynamodb"), Tables(), clock=lambda: self.now)
        self.fakes = {name: FakeLabourer() for name in CAPS}
        self.created: list[str] = []
        self.malformed = malformed_family("worker-a", now=self.now)

    @initialize()
    def deploy_config(self) -> None:
        labourers = {
            name: labourer_config(self.stack.add_function(name, fake), CAPS[name], duration=DURATION, cooldown=0,
                                  max_attempts=3, retry_delay_seconds=60)
            for name, fake in self.fakes.items()
        }  # fmt: skip
        self.stack.put_config({"task_config": {"labourers": labourers}})

    def teardown(self) -> None:
        self.stack.__exit__(None, None, None)

    # -- rules ----------------------------------------------------------------------------------------------------

    @rule(labourer=st.sampled_from(sorted(CAPS)), count=st.integers(min_value=1, max_value=6))
    def create_tasks(self, labourer: str, count: int) -> None:
        self.created += [task.task_id for task in self.store.create_tasks(labourer, [{"n": n} for n in range(count)])]

    @rule(index=st.integers(min_value=0, max_value=10_000))
    def create_malformed_task(self, index: int) -> None:
        item = dict(self.malformed[index % len(self.malformed)])
        item["task_id"] = {"S": f"malformed-{next(_ids)}"}
        item["greenfield"] = {"N": "1"}  # at the head of the queue
        self.stack.client("dynamodb").put_item(TableName=Tables().tasks, Item=item)
        self.created.append(item["task_id"]["S"])

    @rule(
        executions=st.integers(min_value=1, max_value=5),
        seed=st.integers(min_value=0, max_value=2**16),
        fault=st.sampled_from(["none", "throttled claims", "throttled invokes"]),
    )
    def orchestrate(self, executions: int, seed: int, fault: str) -> None:
        gaps = random.Random(seed)
        if fault == "throttled invokes":  # the next 3 invokes of worker-b, in this run or a later one
            self.stack.runtime.add_fault("worker-b", "TooManyRequestsException", status=429, times=3)
        claims_throttled = 3 if fault == "throttled claims" else 0
        with dynamodb_fault(
            "update_item", "ProvisionedThroughputExceededException", when=is_claim, times=claims_throttled
        ):
            arns = []
            for _ in range(executions):
                arns.append(self.stack.start(execution_input={"now": self.now}))
                time.sleep(gaps.uniform(0, 0.4))
            for arn in arns:
                self.stack.wait(arn, timeout=300)  # raises unless SUCCEEDED

    @rule(data=st.data(), failed=st.booleans())
    def report_an_invoked_task(self, data: st.DataObject, failed: bool) -> None:
        invoked = sorted({event["task_id"] for fake in self.fakes.values() for event in fake.events})
        if not invoked:
            return
        task_id = data.draw(st.sampled_from(invoked))
        report = self.store.mark_failed if failed else self.store.mark_completed
        report(task_id)  # refused (accepted=False) when late: never an exception

    @rule(seconds=st.sampled_from([30, 300, DURATION + 60]))
    def advance_the_clock(self, seconds: int) -> None:
        self.now += seconds

    @rule()
    def scavenge(self) -> None:
        self.stack.run({"now": self.now}, state_machine="ScavengerArn")

    # -- invariants -----------------------------------------------------------------------------------------------

    @invariant()
    def every_task_is_in_exactly_one_place(self) -> None:
        census(self.stack.client("dynamodb"), self.created, now=self.now)

    @invariant()
    def no_labourer_has_more_in_flight_than_its_cap(self) -> None:
        for labourer, cap in CAPS.items():
            markers = RunMarkers.at(self.now, duration=DURATION, cooldown=0, delta=GREENFIELD_INVOCATION_DELTA)
            in_flight = self.store.count_running(labourer, markers)
            assert in_flight <= cap, f"{labourer}: {in_flight} in flight, cap {cap}"

    @invariant()
    def at_most_one_invocation_per_claim(self) -> None:
        events = [event for fake in self.fakes.values() for event in fake.events]
        per_claim = Counter((event["task_id"], event["attempts"]) for event in events)
        assert [claim for claim, times in per_claim.items() if times > 1] == []
        attempts = self._attempts()
        for task_id, times in Counter(event["task_id"] for event in events).items():
            assert times <= attempts[task_id], f"{task_id} invoked {times}x with attempts {attempts[task_id]}"

    def _attempts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for table in (Tables().tasks, Tables().retry, Tables().closed):
            for item in all_items(self.stack.client("dynamodb"), table):
                task = Task.from_item(item)
                found[task.task_id] = task.attempts
        return found


ForemanMachine.TestCase.settings = settings(
    max_examples=30 if SOAK else 5,
    stateful_step_count=25 if SOAK else 10,
)
TestForeman = ForemanMachine.TestCase
