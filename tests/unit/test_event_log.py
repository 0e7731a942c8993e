"""EventLog on in-memory data: releases by time, slices, truncation."""

from __future__ import annotations

from array import array

from mock_server.event_log import EventLog


def make_log(times: list[float]) -> EventLog:
    return EventLog.of([f"frame{n};".encode() for n in range(len(times))], times)


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


def test_truncating_one_log_leaves_a_log_sharing_its_offsets_and_times_whole() -> None:
    buffer, ends, times = b"frame0;frame1;frame2;", array("Q", [7, 14, 21]), array("d", [0.0, 1.0, 2.0])
    first, second = EventLog(buffer, times, ends=ends), EventLog(buffer, times, origin=10.0, ends=ends)
    first.truncate(1)
    assert len(second) == 3 and second.visible_at(2) == 12.0
    assert bytes(second.frames(1, 3)) == b"frame1;frame2;"


def test_without_offsets_frames_are_told_apart_by_their_blank_lines() -> None:
    frames = [b"event: a\ndata: {}\n\n", b"data: [1]\n\n", b'event: b\ndata: {"x":"y"}\n\n']
    log = EventLog(b"".join(frames), array("d", [0.0, 0.0, 1.0]))
    assert bytes(log.frames(0, 3)) == b"".join(frames)
    assert [log.frame(n) for n in range(3)] == frames
    assert bytes(log.frames(1, 3)) == b"".join(frames[1:])
    log.truncate(2)
    assert bytes(log.frames(0, 2)) == b"".join(frames[:2]) and len(log) == 2
