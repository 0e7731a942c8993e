"""EventLog on in-memory data: releases by time, slices, truncation."""

from __future__ import annotations

from mock_server.event_log import EventLog


def make_log(times: list[float]) -> EventLog:
    log = EventLog()
    for n, at in enumerate(times):
        log.append(f"frame{n};".encode(), at)
    log.seal()
    return log


def test_frames_and_release_times() -> None:
    log = make_log([0.0, 0.0, 1.0, 2.0])
    assert len(log) == 4
    assert [log.visible_count(t) for t in (-1.0, 0.0, 0.5, 1.0, 5.0)] == [0, 2, 2, 3, 4]
    assert bytes(log.frames(0, 4)) == b"frame0;frame1;frame2;frame3;"
    assert bytes(log.frames(1, 3)) == b"frame1;frame2;"
    assert bytes(log.frames(4, 4)) == b""
    assert log.frame(2) == b"frame2;"


def test_release_times_never_go_backwards() -> None:
    log = make_log([1.0, 0.5])
    assert log.visible_at(1) == 1.0


def test_truncate_keeps_views_already_handed_out_valid() -> None:
    log = make_log([0.0, 1.0, 2.0])
    view = log.frames(0, 3)
    log.truncate(1)
    assert len(log) == 1 and bytes(log.frames(0, 1)) == b"frame0;"
    assert bytes(view) == b"frame0;frame1;frame2;"
    log.append(b"late;", 3.0)
    assert bytes(log.frames(0, 2)) == b"frame0;late;"
