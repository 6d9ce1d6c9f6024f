"""What a locally run function prints reaches the stream, each whole line prefixed by the function's name."""

from __future__ import annotations

import io
import logging
import sys
import threading

from foreman.local.function_logs import current_function, function_output, running


def test_lines_printed_or_logged_inside_a_function_are_prefixed_and_others_pass_through() -> None:
    sink, outside = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = outside
    try:
        with function_output(sink):
            print("server line")
            with running("mine"):
                assert current_function() == "mine"
                print("one", end="")
                print(" line")
                logging.getLogger("labourer").warning("careful")
                sys.stderr.write("an error\npartial")
            assert current_function() is None
    finally:
        sys.stdout, sys.stderr = saved

    assert outside.getvalue() == "server line\n"
    lines = sink.getvalue().splitlines()
    assert lines[0] == "mine | one line"
    assert lines[1].startswith("mine | [WARNING] ")
    assert lines[1].endswith(" labourer: careful")
    assert lines[2:] == ["mine | an error", "mine | partial"]


def test_concurrent_functions_never_interleave_within_a_line() -> None:
    sink = io.StringIO()
    with function_output(sink):

        def work(name: str) -> None:
            with running(name):
                for n in range(200):
                    print(name, n, "a", "b", "c")

        threads = [threading.Thread(target=work, args=(f"f{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    lines = sink.getvalue().splitlines()
    assert len(lines) == 800
    for line in lines:
        name, _, text = line.partition(" | ")
        assert text.startswith(name + " "), line
        assert text.endswith(" a b c"), line


def test_metric_blobs_leave_stderr_for_their_own_file_and_a_dead_task_is_said_in_words() -> None:
    # issue 25, item 6: 203 of 215 lines of the server's stderr were EMF JSON, and a task closed as dead said nothing
    import json

    sink, metrics = io.StringIO(), io.StringIO()
    quiet = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}, "Invoked": 3, "Labourer": "reports"}
    dead = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}, "DeadTasks": 2, "Labourer": "shouter"}
    with function_output(sink, metrics=metrics), running("foreman-ScavengeLabourerFunction"):
        print(json.dumps(quiet))
        print("a line of its own")
        print(json.dumps(dead))
        print('{"_aws": not json')

    assert sink.getvalue().splitlines() == [
        "foreman-ScavengeLabourerFunction | a line of its own",
        "foreman-ScavengeLabourerFunction | closed 2 tasks of shouter as dead after their last attempt "
        "(`foreman status`: closed-dead; `foreman tasks show ID`: why)",
        'foreman-ScavengeLabourerFunction | {"_aws": not json',
    ]
    assert [json.loads(line) for line in metrics.getvalue().splitlines()] == [quiet, dead]
