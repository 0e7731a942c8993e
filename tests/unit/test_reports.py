"""The reports render one hand-made RunResult faithfully: JSON round-trips, JUnit counts, Markdown, HTML pictures."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.conformance.history import Call, History, ServerRecord, Update
from harness.conformance.reports import render_html, render_junit, render_markdown, write_reports
from harness.conformance.reports.pictures import (
    GUTTER,
    KIND_COLORS,
    PLOT,
    pictures,
    poll_timeline,
    stream_timeline,
    time_axis,
)
from harness.conformance.results import CheckResult, Level, RunResult, ScenarioResult, Status

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def token(response_id: str, sequence: int) -> str:
    return json.dumps({"response_id": response_id, "sequence_number": sequence})


def journal_entry(method: str, path: str, at: float, *, status: int = 200, query: dict[str, str] | None = None) -> dict:
    return {
        "method": method,
        "path": path,
        "query": query or {},
        "status": status,
        "response_id": path.split("/")[3] if path.count("/") >= 3 else "resp_" + path[-1],
        "received_at": at,
        "body": {"background": True} if method == "POST" else {},
    }


def created(response_id: str, at: float, *, stream: bool) -> dict:
    entry = journal_entry("POST", "/v1/responses", at)
    entry["response_id"] = response_id
    entry["body"] = {"background": True, "stream": stream, "has_input": True}
    return entry


def truth(text: str) -> dict:
    return {"text": text, "final_status": "completed", "events": []}


def resumed_history() -> History:
    """Cut after three deltas, resumed by a fresh agent instance from the last token: delivered exactly once."""
    rid = "resp_a"
    first = Call(
        index=0,
        step="start",
        stream=True,
        sent_prompt=True,
        token_in=None,
        started_at=0.0,
        ended_at=0.9,
        agent_instance=1,
        updates=(
            Update(0.3, "", token(rid, 2), "response.in_progress"),
            Update(0.4, "The ", token(rid, 5)),
            Update(0.5, "quick ", token(rid, 6)),
            Update(0.6, "brown ", token(rid, 7)),
        ),
        token_out=token(rid, 7),
        cut=True,
    )
    resume = Call(
        index=1,
        step="resume",
        stream=True,
        sent_prompt=False,
        token_in=token(rid, 7),
        started_at=1.2,
        ended_at=2.4,
        agent_instance=2,
        updates=(
            Update(1.5, "fox ", token(rid, 8)),
            Update(1.7, "jumps over ", token(rid, 9)),
            Update(1.9, "the lazy dog.", token(rid, 10)),
            Update(2.3, "", None, "response.completed"),
        ),
        token_out=None,
        status="completed",
    )
    journal = (
        created(rid, 1000.0, stream=True),
        journal_entry("GET", f"/v1/responses/{rid}", 1001.2, query={"stream": "true", "starting_after": "7"}),
    )
    server = ServerRecord(journal, {rid: truth("The quick brown fox jumps over the lazy dog.")})
    return History("drop-and-resume", "af-python", 7, 0.1, (first, resume), server, token_budget_bytes=4096)


def repeating_history() -> History:
    """Resumed from an older token than the last one received: "brave " arrives twice."""
    rid = "resp_b"
    first = Call(
        0,
        "start",
        True,
        True,
        None,
        0.0,
        0.5,
        1,
        (Update(0.2, "Hello ", token(rid, 5)), Update(0.3, "brave ", token(rid, 6))),
        token(rid, 6),
        cut=True,
    )
    resume = Call(
        1,
        "resume",
        True,
        False,
        token(rid, 5),
        0.8,
        1.3,
        1,
        (
            Update(0.9, "brave ", token(rid, 6)),
            Update(1.0, "new world, ", token(rid, 7)),
            Update(1.1, "again.", token(rid, 8)),
            Update(1.2, "", None),
        ),
        None,
        "completed",
    )
    journal = (created(rid, 50.0, stream=True), journal_entry("GET", f"/v1/responses/{rid}", 50.8))
    server = ServerRecord(journal, {rid: truth("Hello brave new world, again.")})
    return History("resume-repeats", "af-python", 7, 0.1, (first, resume), server)


def polling_history() -> History:
    """A background run polled every half second; the answer's text carries markup that must stay text."""
    rid = "resp_c"
    answer = f"{SCRIPT} is not code here."
    start = Call(0, "start", False, True, None, 0.0, 0.05, 1, (Update(0.05, "", token(rid, 0)),), token(rid, 0))
    polls = tuple(
        Call(
            n,
            "poll",
            False,
            False,
            token(rid, 0),
            0.5 * n,
            0.5 * n + 0.04,
            1,
            (Update(0.5 * n + 0.04, "", token(rid, 0)),),
            token(rid, 0),
            "in_progress",
        )
        for n in (1, 2, 3)
    )
    final = Call(4, "poll", False, False, token(rid, 0), 2.0, 2.05, 1, (Update(2.05, answer, None),), None, "completed")
    journal = (
        created(rid, 500.0, stream=False),
        journal_entry("GET", f"/v1/responses/{rid}", 500.5),
        journal_entry("GET", f"/v1/responses/{rid}", 500.95, status=429),
        journal_entry("GET", f"/v1/responses/{rid}", 501.0),
        journal_entry("GET", f"/v1/responses/{rid}", 501.5),
        journal_entry("GET", f"/v1/responses/{rid}", 502.0),
    )
    server = ServerRecord(journal, {rid: truth(answer)})
    return History("poll-until-done", "af-python", 7, 0.1, (start, *polls, final), server)


def check(check_id: str, level: Level, status: Status, **fields) -> CheckResult:
    defaults = {"rule": f"The {check_id} rule.", "expected": "conformant", "measured": "conformant"}
    return CheckResult(check_id, level, status, **(defaults | fields))


def reproduce(scenario: str) -> str:
    return f"bgr run --agent af-python --seed 7 --scenario {scenario}"


def scenario(
    name: str, suite: str, history: History | None, checks: tuple[CheckResult, ...], **fields
) -> ScenarioResult:
    return ScenarioResult(
        scenario=name,
        suite=suite,
        description=f"The {name} scenario.",
        agent="af-python",
        seed=7,
        reproduce=reproduce(name),
        duration_seconds=2.5,
        checks=checks,
        history=history,
        **fields,
    )


def sample_run() -> RunResult:
    """Every shape a report must render: pass, fail, warning, skip, unknown, expected failure, stale, error."""
    passing = scenario(
        "drop-and-resume",
        "resume",
        resumed_history(),
        (
            check("resume-exactly-once", Level.MUST, Status.SUCCESS),
            check("null-means-done", Level.MUST, Status.SUCCESS),
            check("token-persistable", Level.MUST, Status.SKIPPED, details="the agent cannot be restarted"),
            check("token-size", Level.SHOULD, Status.SUCCESS, measured="largest token 52 bytes"),
        ),
    )
    failing = scenario(
        "resume-repeats",
        "resume",
        repeating_history(),
        (
            check(
                "resume-exactly-once",
                Level.MUST,
                Status.FAILURE,
                expected="each character of the answer delivered once",
                measured="6 chars repeated",
                details="the resume started at sequence 5, before the last update received (6)",
                evidence=("call 1 update 0 at 0.900 s: 'brave ' repeats chars 6-12",),
            ),
            check("null-means-done", Level.MUST, Status.SUCCESS),
        ),
    )
    polling = scenario(
        "poll-until-done",
        "polling",
        polling_history(),
        (
            check("poll-without-input", Level.MUST, Status.SUCCESS),
            check(
                "backoff",
                Level.SHOULD,
                Status.WARNING,
                expected="delays 1, 2, 4 s",
                measured="delays 0.5, 0.5, 0.5 s",
                evidence=("poll 1 at 0.500 s", "poll 2 at 1.000 s", "poll 3 at 1.500 s"),
            ),
            check("timeout", Level.SHOULD, Status.UNKNOWN, details="the response finished before any bound"),
            check(
                "terminal-honesty",
                Level.MUST,
                Status.FAILURE,
                measured=f"final text {SCRIPT!r}",
                evidence=(f"call 4: {SCRIPT}",),
                expected_failure=True,
            ),
        ),
    )
    broken = scenario("restart-mid-stream", "resume", None, (), error="adapter crashed: ConnectionRefusedError")
    return RunResult(
        agent="af-python",
        seed=7,
        time_scale=0.1,
        started_at="2026-11-20T10:00:00Z",
        scenarios=(passing, failing, polling, broken),
        stale_expected_failures=("drop-and-resume:token-size",),
    )


@pytest.fixture
def run() -> RunResult:
    return sample_run()


def test_write_reports_writes_all_four(run: RunResult, tmp_path: Path) -> None:
    paths = write_reports(run, tmp_path / "out")
    assert {key: path.name for key, path in paths.items()} == {
        "json": "results.json",
        "junit": "junit.xml",
        "markdown": "summary.md",
        "html": "report.html",
    }
    assert all(path.is_file() and path.stat().st_size > 0 for path in paths.values())


def test_results_json_round_trips_histories(run: RunResult, tmp_path: Path) -> None:
    data = json.loads(write_reports(run, tmp_path)["json"].read_text())
    assert data["passed"] is False
    assert data["counts"] == run.counts()
    assert data["stale_expected_failures"] == ["drop-and-resume:token-size"]
    for original, written in zip(run.scenarios, data["scenarios"], strict=True):
        assert written["reproduce"] == original.reproduce
        for entry in written["checks"]:
            assert {"id", "level", "status", "expected", "measured", "details", "evidence"} <= entry.keys()
        if original.history is None:
            assert written["history"] is None
        else:
            assert History.from_dict(written["history"]) == original.history
    failing = data["scenarios"][1]["checks"][0]
    assert (failing["status"], failing["level"], failing["evidence"]) == (
        "FAILURE",
        "MUST",
        ["call 1 update 0 at 0.900 s: 'brave ' repeats chars 6-12"],
    )


def test_junit_counts_and_names(run: RunResult) -> None:
    root = ET.fromstring(render_junit(run))
    cases = root.iter("testcase")
    by_name = {case.get("name"): case for case in cases}
    assert len(by_name) == 10 + 1 + 1  # every check, the harness error, the stale baseline entry
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("12", "2", "1", "3")
    assert [suite.get("name") for suite in root.iter("testsuite")] == ["resume", "polling", "expected-failures"]

    failure = by_name["resume-repeats::resume-exactly-once"]
    assert failure.get("classname") == "bgr.resume"
    text = failure.find("failure").text
    assert "6 chars repeated" in text and "'brave ' repeats" in text and reproduce("resume-repeats") in text

    warning = by_name["poll-until-done::backoff"]
    assert warning.find("failure") is None and warning.find("skipped") is None
    assert "WARNING" in warning.find("system-out").text
    assert warning.find("properties/property").get("name") == "warning"

    assert by_name["poll-until-done::terminal-honesty"].find("skipped").get("message").startswith("expected failure:")
    assert by_name["poll-until-done::timeout"].find("skipped").get("message").startswith("UNKNOWN")
    assert by_name["drop-and-resume::token-persistable"].find("skipped").get("message").startswith("SKIPPED")
    assert by_name["restart-mid-stream::run"].find("error").get("message") == "adapter crashed: ConnectionRefusedError"
    assert by_name["drop-and-resume:token-size"].find("failure").get("message").startswith("stale expected failure")


def test_junit_drops_characters_xml_cannot_carry(run: RunResult) -> None:
    bad = CheckResult("null-means-done", Level.MUST, Status.FAILURE, "r", "e", "escape \x1b[31m red")
    odd = RunResult("a", 1, 1.0, "t", (scenario("odd", "s", None, (bad,)),))
    assert "\\x1b[31m" in ET.fromstring(render_junit(odd)).find(".//failure").get("message")


def test_markdown_lists_findings_with_their_reproduce_command(run: RunResult) -> None:
    text = render_markdown(run)
    assert "# bgr conformance report: FAIL" in text
    assert "| agent | `af-python` |" in text
    heading = "### ✗ resume-repeats · resume-exactly-once (MUST, FAILURE)"
    section = text[text.index(heading) :]
    assert "- **measured:** 6 chars repeated" in section
    assert f"```sh\n{reproduce('resume-repeats')}\n```" in section
    assert "### ⚠ poll-until-done · backoff (SHOULD, WARNING)" in text
    assert "### ? poll-until-done · timeout" in text
    assert "Expected failure" in text
    assert "drop-and-resume:token-size" in text.split("## Stale expected failures")[1]
    assert "adapter crashed: ConnectionRefusedError" in text.split("## Harness errors")[1]
    # Prose is escaped; the evidence, in a code block, is shown as recorded.
    assert "final text '&lt;script&gt;alert(1)&lt;/script&gt;'" in text
    table_row = next(line for line in text.splitlines() if line.startswith("| resume-repeats |"))
    assert "✗" in table_row and "fail" in table_row


def test_markdown_fences_survive_backticks_in_evidence() -> None:
    fenced = CheckResult("timeout", Level.SHOULD, Status.WARNING, "r", "e", "m", evidence=("```", "x"))
    text = render_markdown(RunResult("a", 1, 1.0, "t", (scenario("odd", "s", None, (fenced,)),)))
    assert "````\n```\nx\n````" in text


def _sections(html: str) -> dict[str, str]:
    """Each scenario's section of the page, by scenario id."""
    parts = re.split(r'<section class="scenario" id="s\d+-', html)[1:]
    return {part.split('"', 1)[0]: part for part in parts}


def _svgs(section: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", section, flags=re.DOTALL)]


def test_html_draws_a_timeline_per_streaming_scenario(run: RunResult) -> None:
    html = render_html(run)
    sections = _sections(html)
    assert list(sections) == ["drop-and-resume", "resume-repeats", "poll-until-done", "restart-mid-stream"]
    pictures_by_section = {
        name: [svg.get("data-picture") for svg in _svgs(section)] for name, section in sections.items()
    }
    assert pictures_by_section == {
        "drop-and-resume": ["stream-timeline"],
        "resume-repeats": ["stream-timeline"],
        "poll-until-done": ["polls"],
        "restart-mid-stream": [],
    }
    assert html.count("<svg") == 3


def test_repeat_color_marks_only_the_failing_scenario(run: RunResult) -> None:
    sections = _sections(render_html(run))

    def repeat_marks(name: str) -> list[ET.Element]:
        return [
            element
            for svg in _svgs(sections[name])
            for element in svg.iter()
            if element.get("fill") == KIND_COLORS["repeat"] and element.get("data-kind")
        ]

    assert repeat_marks("drop-and-resume") == []
    assert repeat_marks("poll-until-done") == []
    marks = repeat_marks("resume-repeats")
    assert {mark.get("data-kind") for mark in marks} == {"repeat"}
    assert len(marks) == 2  # the tick of the repeated update and its range on the truth bar


def test_passing_timeline_shows_the_cut_and_the_resume(run: RunResult) -> None:
    (svg,) = _svgs(_sections(render_html(run))["drop-and-resume"])
    kinds = [element.get("data-kind") for element in svg.iter() if element.get("data-kind")]
    assert kinds.count("ok") == 6 * 2  # six text updates: a tick each and a range each on the truth bar
    assert kinds.count("empty") == 2
    assert "cut" in kinds and "skip" not in kinds and "error" not in kinds
    labels = [element.text for element in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "start #0 · agent 1" in labels and "resume #1 · agent 2" in labels


def test_polls_picture_has_a_dot_per_call_and_per_request(run: RunResult) -> None:
    (svg,) = _svgs(_sections(render_html(run))["poll-until-done"])
    kinds = [element.get("data-kind") for element in svg.iter() if element.get("data-kind")]
    assert kinds.count("token-set") == 4 and kinds.count("token-null") == 1
    assert kinds.count("request") == 6
    fills = [element.get("fill") for element in svg.iter() if element.get("data-kind") == "request"]
    assert fills.count("#d00000") == 1  # the 429


def test_html_escapes_text_from_the_history(run: RunResult) -> None:
    html = render_html(run)
    assert SCRIPT not in html
    assert "<script" not in html
    assert ESCAPED_SCRIPT in html


def test_html_is_self_contained(run: RunResult) -> None:
    html = render_html(run)
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * 3
    assert "<link" not in html and " src=" not in html


def test_timeline_copes_with_a_call_without_updates_and_no_truth() -> None:
    call = Call(0, "start", True, True, None, 0.0, 0.2, 1, error="boom <b>")
    history = History("bare", "a", 1, 1.0, (call,), ServerRecord())
    picture = stream_timeline(history)
    kinds = [shape.kind for shape in picture.shapes]
    assert "error" in kinds
    assert any(shape.text == "no ground truth recorded" for shape in picture.shapes)
    assert [drawn.name for drawn in pictures(history)] == ["stream-timeline"]


def test_time_axis_starts_and_ends_on_round_ticks_around_the_activity() -> None:
    axis = time_axis(2.23, 4.61)
    assert axis.start <= 2.23 < axis.start + axis.step
    assert axis.end - axis.step < 4.61 <= axis.end
    assert axis.ticks()[0] == axis.start and axis.ticks()[-1] == axis.end
    assert axis.x(axis.start) == GUTTER and axis.x(axis.end) == GUTTER + PLOT


def test_polls_picture_places_the_first_request_at_the_first_call() -> None:
    picture = poll_timeline(polling_history())
    first_call = next(shape for shape in picture.shapes if shape.kind == "token-set")
    first_request = next(shape for shape in picture.shapes if shape.kind == "request")
    call_x = float(dict(first_call.attributes)["cx"])
    request = dict(first_request.attributes)
    assert float(request["x"]) + float(request["width"]) / 2 == pytest.approx(call_x, abs=0.1)
    assert "after the first request" in first_request.title
