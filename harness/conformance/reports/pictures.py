"""Pictures of one history as SVG shapes: what each stream delivered and when, and how the caller polled.

Pure layout over a history and its delivery map (the same map the resume check judges); the HTML
template only writes the shapes out, escaping every text and attribute.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from harness.conformance.delivery import DeliveryMap, Segment, delivery_map
from harness.conformance.history import Call, History, utf8_size

KIND_COLORS = {"ok": "#2b9348", "repeat": "#f77f00", "skip": "#d00000", "foreign": "#7b2cbf", "empty": "#adb5bd"}
TOKEN_NULL_COLOR = "#2b9348"
TOKEN_SET_COLOR = "#3a86ff"
ERROR_COLOR = "#d00000"
CUT_COLOR = "#343a40"
INK = "#212529"
FAINT_INK = "#6c757d"
LANE_LINE = "#ced4da"
STRIPE = "#f1f3f5"
UNDELIVERED = "#dee2e6"

WIDTH = 1100
GUTTER = 230
"""Room on the left for lane labels."""
END_ROOM = 175
"""Room on the right for what a call ended with, drawn after its last moment."""
PLOT = WIDTH - GUTTER - END_ROOM
AXIS_Y = 22
LANE_HEIGHT = 30
TICK_HALF = 9
FONT = 12
SMALL_FONT = 10
CHAR_WIDTH = 0.6
"""Rough width of one character, as a fraction of the font size: enough to keep labels apart."""
LEGEND_ROW = 20
TITLE_CHARS = 160


@dataclass(frozen=True, slots=True)
class Shape:
    tag: str
    """rect, line, circle, path, text."""
    attributes: tuple[tuple[str, str], ...]
    text: str = ""
    title: str = ""
    """Tooltip: shown on hover, no script needed."""
    kind: str = ""
    """The delivery kind (ok, repeat, skip, foreign, empty) or marker (cut, error) it stands for."""


@dataclass(frozen=True, slots=True)
class Picture:
    name: str
    caption: str
    width: int
    height: int
    shapes: tuple[Shape, ...]


def _shape(tag: str, *, text: str = "", title: str = "", kind: str = "", **attributes: float | str) -> Shape:
    values = tuple(
        (name.replace("_", "-"), f"{value:.1f}" if isinstance(value, float) else str(value))
        for name, value in attributes.items()
    )
    return Shape(tag, values, text, title, kind)


def _label(
    x: float, y: float, text: str, *, anchor: str = "start", size: int = FONT, fill: str = INK, **style: float | str
) -> Shape:
    return _shape("text", text=text, x=x, y=y, font_size=size, text_anchor=anchor, fill=fill, **style)


def _clip(text: str) -> str:
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


def _seconds(value: float) -> str:
    return f"{value:.3f} s"


@dataclass(frozen=True, slots=True)
class TimeAxis:
    start: float
    end: float
    step: float

    def x(self, seconds: float) -> float:
        clamped = min(max(seconds, self.start), self.end)
        return GUTTER + (clamped - self.start) / (self.end - self.start) * PLOT

    def ticks(self) -> list[float]:
        count = round((self.end - self.start) / self.step)
        return [round(self.start + number * self.step, 9) for number in range(count + 1)]


def time_axis(earliest: float, latest: float, ticks: int = 8) -> TimeAxis:
    """Round ticks around [earliest, latest]: a quiet start (an agent starting up) does not squeeze the activity."""
    earliest = max(earliest, 0.0)
    raw = max(latest - earliest, 1e-3) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.floor(earliest / step + 1e-9) * step
    end = max(math.ceil(latest / step - 1e-9) * step, start + step)
    return TimeAxis(start, end, step)


def _axis(axis: TimeAxis, bottom: float, unit: str) -> list[Shape]:
    shapes = [_shape("line", x1=GUTTER, x2=GUTTER + PLOT, y1=AXIS_Y, y2=AXIS_Y, stroke=FAINT_INK)]
    for seconds in axis.ticks():
        x = axis.x(seconds)
        shapes.append(_shape("line", x1=x, x2=x, y1=AXIS_Y, y2=bottom, stroke="#e9ecef"))
        shapes.append(_label(x, AXIS_Y - 6, f"{seconds:g}", anchor="middle", size=SMALL_FONT, fill=FAINT_INK))
    shapes.append(_label(GUTTER - 10, AXIS_Y - 6, unit, anchor="end", size=SMALL_FONT, fill=FAINT_INK))
    return shapes


def _text_width(text: str, size: int) -> float:
    return CHAR_WIDTH * size * len(text)


def _legend(y: float, items: list[tuple[Shape, str]]) -> tuple[list[Shape], float]:
    """Swatches drawn around (0, 0) are shifted into rows, each followed by its label; returns the bottom."""
    shapes: list[Shape] = []
    x = float(GUTTER)
    for swatch, text in items:
        width = 26 + _text_width(text, SMALL_FONT)
        if x + width > WIDTH:
            x, y = float(GUTTER), y + LEGEND_ROW
        shifted = dict(swatch.attributes)
        shifted["transform"] = f"translate({x:.1f},{y:.1f})"
        shapes.append(Shape(swatch.tag, tuple(shifted.items()), swatch.text, text))
        shapes.append(_label(x + 10, y + 4, text, size=SMALL_FONT))
        x += width
    return shapes, y + LEGEND_ROW / 2


def _triangle(x: float, y: float, **style: str) -> dict[str, str]:
    return {"d": f"M{x - 4:.1f},{y - 6:.1f} L{x + 4:.1f},{y - 6:.1f} L{x:.1f},{y:.1f} Z", **style}


def _describe(call: Call) -> str:
    token_in = "none" if call.token_in is None else f"{utf8_size(call.token_in)} bytes"
    token_out = "null" if call.token_out is None else f"{utf8_size(call.token_out)} bytes"
    parts = [
        f"call {call.index} ({call.step}, {'stream' if call.stream else 'non-streaming'}, agent {call.agent_instance})",
        f"{_seconds(call.started_at)} to {_seconds(call.ended_at)}",
        f"prompt sent: {'yes' if call.sent_prompt else 'no'}",
        f"token in: {token_in}",
        f"token out: {token_out}",
        f"{len(call.updates)} updates, {len(call.text)} chars",
    ]
    if call.status:
        parts.append(f"status: {call.status}")
    if call.error:
        parts.append(f"error: {call.error}")
    if call.cut:
        parts.append("cut by the harness")
    return _clip("; ".join(parts))


def _end_label(call: Call) -> str:
    parts = [word for word, present in (("cut", call.cut), ("error", bool(call.error))) if present]
    if call.status:
        parts.append(call.status)
    parts.append("null token" if call.token_out is None else f"token {utf8_size(call.token_out)} B")
    return " · ".join(parts)


def _update_ticks(
    call: Call, middle: float, axis: TimeAxis, segments: dict[tuple[int, int], list[Segment]]
) -> list[Shape]:
    shapes: list[Shape] = []
    for number, update in enumerate(call.updates):
        x = axis.x(update.at)
        where = f"call {call.index} update {number} at {_seconds(update.at)}"
        if not update.text:
            token = "null" if update.token is None else f"{update.token_bytes} bytes"
            shapes.append(
                _shape(
                    "line",
                    title=f"{where}: no text, token {token}",
                    kind="empty",
                    x1=x,
                    x2=x,
                    y1=middle - 3,
                    y2=middle + 3,
                    stroke=KIND_COLORS["empty"],
                    stroke_width=1.5,
                )
            )
            continue
        pieces = [segment for segment in segments[(call.index, number)] if segment.kind != "skip"]
        total = sum(len(piece.text) for piece in pieces) or 1
        top = middle - TICK_HALF
        for piece in pieces:
            height = 2 * TICK_HALF * len(piece.text) / total
            shapes.append(
                _shape(
                    "rect",
                    title=_clip(f"{where}: {piece.kind}, chars {piece.start}-{piece.end}: {piece.text!r}"),
                    kind=piece.kind,
                    x=x - 1.5,
                    y=top,
                    width=3.0,
                    height=max(height, 1.0),
                    fill=KIND_COLORS[piece.kind],
                )
            )
            top += height
    for number in range(len(call.updates) + 1):
        for segment in segments[(call.index, number)]:
            if segment.kind == "skip":
                shapes.append(_skip_marker(segment, axis.x(segment.at), middle - TICK_HALF - 1))
    return shapes


def _skip_marker(segment: Segment, x: float, y: float) -> Shape:
    title = f"skipped before {_seconds(segment.at)}: chars {segment.start}-{segment.end}: {segment.text!r}"
    return _shape("path", title=_clip(title), kind="skip", **_triangle(x, y, fill=KIND_COLORS["skip"]))


def _end_markers(call: Call, middle: float, x: float) -> list[Shape]:
    shapes: list[Shape] = []
    if call.cut:
        title = f"cut by the harness at {_seconds(call.ended_at)}"
        for offset in (-3.0, 2.0):
            shapes.append(
                _shape(
                    "line",
                    title=title,
                    kind="cut",
                    x1=x + offset - 3,
                    x2=x + offset + 3,
                    y1=middle + 8,
                    y2=middle - 8,
                    stroke=CUT_COLOR,
                    stroke_width=2,
                )
            )
    if call.error:
        marker_x = x + (10 if call.cut else 0)
        shapes.append(
            _shape(
                "circle",
                title=_clip(f"error: {call.error}"),
                kind="error",
                cx=marker_x,
                cy=middle,
                r=6,
                fill=ERROR_COLOR,
            )
        )
        shapes.append(_label(marker_x, middle + 4, "!", anchor="middle", fill="#ffffff", font_weight="bold"))
    return shapes


def _start_marker(call: Call, middle: float, x: float) -> Shape:
    if call.sent_prompt:
        return _shape("circle", title="started with the prompt", cx=x, cy=middle, r=4, fill=INK)
    title = "resumed from a token" if call.token_in is not None else "started without prompt or token"
    return _shape("circle", title=title, cx=x, cy=middle, r=4, fill="#ffffff", stroke=INK, stroke_width=1.5)


def _lane_background(row: int, top: float) -> list[Shape]:
    if row % 2:
        return []
    return [_shape("rect", x=0, y=top, width=WIDTH, height=LANE_HEIGHT, fill=STRIPE)]


def _truth_bar(delivery: DeliveryMap, top: float) -> list[Shape]:
    """The ground-truth text as a bar: which character ranges arrived once, twice, or never."""
    length = len(delivery.truth)
    shapes = [
        _label(GUTTER - 10, top + 11, "ground truth", anchor="end"),
        _label(GUTTER - 10, top + 25, "repeated", anchor="end", size=SMALL_FONT, fill=FAINT_INK),
    ]
    if not length:
        return [*shapes, _label(GUTTER, top + 11, "no ground truth recorded", fill=FAINT_INK)]

    def x(offset: int) -> float:
        return GUTTER + offset / length * PLOT

    def span(segment: Segment, y: float, height: float) -> Shape:
        title = f"{segment.kind}: chars {segment.start}-{segment.end} (call {segment.call}): {segment.text!r}"
        return _shape(
            "rect",
            title=_clip(title),
            kind=segment.kind,
            x=x(segment.start),
            y=y,
            width=max(x(segment.end) - x(segment.start), 1.0),
            height=height,
            fill=KIND_COLORS[segment.kind],
        )

    shapes.append(
        _shape("rect", title="never delivered", x=GUTTER, y=top, width=float(PLOT), height=14.0, fill=UNDELIVERED)
    )
    shapes += [span(segment, top, 14.0) for segment in delivery.segments if segment.kind in ("ok", "skip")]
    shapes.append(_shape("rect", x=GUTTER, y=top + 19, width=float(PLOT), height=8.0, fill=STRIPE))
    shapes += [span(segment, top + 19, 8.0) for segment in delivery.of_kind("repeat")]
    shapes.append(_label(GUTTER, top + 40, "0", size=SMALL_FONT, fill=FAINT_INK))
    shapes.append(_label(GUTTER + PLOT, top + 40, f"{length} chars", anchor="end", size=SMALL_FONT, fill=FAINT_INK))
    foreign = delivery.of_kind("foreign")
    if foreign:
        text = f"not in the truth: {sum(len(segment.text) for segment in foreign)} chars in {len(foreign)} updates"
        title = _clip(" | ".join(repr(segment.text) for segment in foreign))
        shapes.append(
            _shape(
                "text",
                text=text,
                title=title,
                kind="foreign",
                x=GUTTER + PLOT / 2,
                y=top + 40,
                font_size=SMALL_FONT,
                text_anchor="middle",
                fill=KIND_COLORS["foreign"],
            )
        )
    return shapes


_KIND_LABELS = (("ok", "delivered once"), ("repeat", "repeated"), ("skip", "skipped"), ("foreign", "not in the truth"))


def _stream_legend(y: float) -> tuple[list[Shape], float]:
    def swatch(color: str) -> Shape:
        return _shape("rect", x=-1.5, y=-6, width=3.0, height=12.0, fill=color)

    items = [(swatch(KIND_COLORS[kind]), label) for kind, label in _KIND_LABELS]
    items += [
        (_shape("line", x1=0, x2=0, y1=-3, y2=3, stroke=KIND_COLORS["empty"], stroke_width=1.5), "update without text"),
        (_shape("path", **_triangle(0, 4, fill=KIND_COLORS["skip"])), "text skipped here"),
        (_shape("line", x1=-3, x2=3, y1=6, y2=-6, stroke=CUT_COLOR, stroke_width=2), "cut"),
        (_shape("circle", cx=0, cy=0, r=5, fill=ERROR_COLOR), "error"),
        (_shape("circle", cx=0, cy=0, r=4, fill=INK), "start with prompt"),
        (_shape("circle", cx=0, cy=0, r=4, fill="#ffffff", stroke=INK, stroke_width=1.5), "resume from token"),
    ]
    return _legend(y, items)


def stream_timeline(history: History, delivery: DeliveryMap | None = None) -> Picture:
    """One lane per call: its updates as ticks colored by delivery kind, then the truth as a bar."""
    delivery = delivery or delivery_map(history)
    segments: dict[tuple[int, int], list[Segment]] = defaultdict(list)
    for segment in delivery.segments:
        segments[(segment.call, segment.update)].append(segment)
    latest = max(max([call.ended_at, *(update.at for update in call.updates)]) for call in history.calls)
    axis = time_axis(min(call.started_at for call in history.calls), latest)
    lanes_top = AXIS_Y + 8
    lanes_bottom = lanes_top + LANE_HEIGHT * len(history.calls)
    shapes: list[Shape] = []
    for row in range(len(history.calls)):
        shapes += _lane_background(row, lanes_top + row * LANE_HEIGHT)
    shapes += _axis(axis, lanes_bottom, "seconds")
    for row, call in enumerate(history.calls):
        middle = lanes_top + row * LANE_HEIGHT + LANE_HEIGHT / 2
        start, end = axis.x(call.started_at), axis.x(call.ended_at)
        label = f"{call.step} #{call.index} · agent {call.agent_instance}" + ("" if call.stream else " · reply")
        description = _describe(call)
        shapes.append(_label(GUTTER - 10, middle + 4, label, anchor="end"))
        shapes.append(
            _shape("line", title=description, x1=start, x2=end, y1=middle, y2=middle, stroke=LANE_LINE, stroke_width=4)
        )
        shapes.append(_start_marker(call, middle, start))
        shapes += _update_ticks(call, middle, axis, segments)
        shapes += _end_markers(call, middle, end)
        shapes.append(
            _label(end + (24 if call.error and call.cut else 14), middle + 4, _end_label(call), fill=FAINT_INK)
        )
    bar_top = lanes_bottom + 16
    shapes += _truth_bar(delivery, bar_top)
    legend, bottom = _stream_legend(bar_top + 62)
    shapes += legend
    caption = "Streaming calls over scenario time; below, the ground-truth text and which parts reached the caller."
    return Picture("stream-timeline", caption, WIDTH, int(bottom), tuple(shapes))


def _spaced_labels(placed: list[tuple[float, str]], y: float, *, size: int = SMALL_FONT) -> list[Shape]:
    """Labels centered at their x, leaving out any that would overlap the one before."""
    shapes: list[Shape] = []
    free_from = -math.inf
    for x, text in placed:
        half = _text_width(text, size) / 2
        if not text or x - half < free_from:
            continue
        shapes.append(_label(x, y, text, anchor="middle", size=size, fill=FAINT_INK))
        free_from = x + half + 4
    return shapes


def _journal_title(entry: dict[str, Any], seconds: float) -> str:
    query = entry.get("query") or {}
    path = f"{entry.get('path', '')}{'?' + urlencode(query) if isinstance(query, dict) and query else ''}"
    title = f"{entry.get('method', '?')} {path} -> {entry.get('status')}, {_seconds(seconds)} after the first request"
    if entry.get("response_id"):
        title += f" ({entry['response_id']})"
    return _clip(title)


def _journal_mark(entry: dict[str, Any], x: float, middle: float, seconds: float) -> Shape:
    status = entry.get("status")
    failed = isinstance(status, int) and status >= 400
    style: dict[str, float | str] = (
        {"fill": "#ffffff", "stroke": FAINT_INK, "stroke_width": 1.5}
        if status is None
        else {"fill": ERROR_COLOR if failed else FAINT_INK}
    )
    title = _journal_title(entry, seconds)
    if entry.get("method") == "POST":
        return _shape("rect", title=title, kind="request", x=x - 4, y=middle - 4, width=8.0, height=8.0, **style)
    return _shape("circle", title=title, kind="request", cx=x, cy=middle, r=4, **style)


def _journal_label(entry: dict[str, Any]) -> str:
    status = entry.get("status")
    method = str(entry.get("method", "?"))
    return f"{method} {status}" if isinstance(status, int) and status >= 400 else method


def poll_timeline(history: History) -> Picture:
    """The caller's non-streaming calls as dots, and the requests the server received, on one time scale."""
    polls = [call for call in history.calls if not call.stream]
    journal = [entry for entry in history.server.journal if isinstance(entry.get("received_at"), int | float)]
    first = min((float(entry["received_at"]) for entry in journal), default=0.0)
    since_first = [float(entry["received_at"]) - first for entry in journal]
    # The mock's clock has another origin: its first request is placed where the caller's first call began.
    anchor = polls[0].started_at if polls else 0.0
    server_times = [anchor + seconds for seconds in since_first]
    moments = [call.started_at for call in polls] + [call.ended_at for call in polls] + server_times
    axis = time_axis(min(moments), max(moments))
    lanes_top = AXIS_Y + 8
    lane_height = LANE_HEIGHT + 20  # room for labels above and gaps below
    caller, server = lanes_top + lane_height / 2 + 2, lanes_top + lane_height * 1.5 + 2
    shapes = [_shape("rect", x=0, y=lanes_top, width=WIDTH, height=lane_height, fill=STRIPE)]
    shapes += _axis(axis, lanes_top + 2 * lane_height, "seconds")
    shapes += [
        _label(GUTTER - 10, caller, f"caller: {len(polls)} calls", anchor="end"),
        _label(GUTTER - 10, caller + 14, "scenario seconds", anchor="end", size=SMALL_FONT, fill=FAINT_INK),
        _label(GUTTER - 10, server, f"server: {len(journal)} requests", anchor="end"),
        _label(GUTTER - 10, server + 14, "first request at first call", anchor="end", size=SMALL_FONT, fill=FAINT_INK),
        _shape("line", x1=GUTTER, x2=GUTTER + PLOT, y1=caller, y2=caller, stroke=LANE_LINE),
        _shape("line", x1=GUTTER, x2=GUTTER + PLOT, y1=server, y2=server, stroke=LANE_LINE),
    ]
    for call in polls:
        start, end = axis.x(call.started_at), axis.x(call.ended_at)
        shapes.append(_shape("line", x1=start, x2=end, y1=caller, y2=caller, stroke=INK, stroke_width=3))
        style: dict[str, float | str] = {"fill": TOKEN_NULL_COLOR if call.token_out is None else TOKEN_SET_COLOR}
        if call.error:
            style |= {"stroke": ERROR_COLOR, "stroke_width": 2.5}
        kind = "token-null" if call.token_out is None else "token-set"
        shapes.append(_shape("circle", title=_describe(call), kind=kind, cx=start, cy=caller, r=5, **style))
    shapes += _spaced_labels([(axis.x(call.started_at), _poll_label(call)) for call in polls], caller - 10)
    gaps = [
        ((axis.x(before.started_at) + axis.x(after.started_at)) / 2, f"+{after.started_at - before.started_at:.2g}s")
        for before, after in itertools.pairwise(polls)
    ]
    shapes += _spaced_labels(gaps, caller + 20, size=9)
    for entry, seconds, after_first in zip(journal, server_times, since_first, strict=True):
        shapes.append(_journal_mark(entry, axis.x(seconds), server, after_first))
    shapes += _spaced_labels(
        [(axis.x(seconds), _journal_label(entry)) for entry, seconds in zip(journal, server_times, strict=True)],
        server - 10,
    )
    legend, bottom = _legend(
        lanes_top + 2 * lane_height + 16,
        [
            (_shape("circle", cx=0, cy=0, r=5, fill=TOKEN_SET_COLOR), "call left a token"),
            (_shape("circle", cx=0, cy=0, r=5, fill=TOKEN_NULL_COLOR), "null token (done)"),
            (_shape("circle", cx=0, cy=0, r=5, fill="#ffffff", stroke=ERROR_COLOR, stroke_width=2.5), "agent error"),
            (_shape("rect", x=-4, y=-4, width=8.0, height=8.0, fill=FAINT_INK), "POST"),
            (_shape("circle", cx=0, cy=0, r=4, fill=FAINT_INK), "other request"),
            (_shape("circle", cx=0, cy=0, r=4, fill=ERROR_COLOR), "HTTP 4xx/5xx"),
        ],
    )
    caption = "Non-streaming calls (polls) as the caller made them, and the requests as the mock received them."
    shapes += legend
    return Picture("polls", caption, WIDTH, int(bottom), tuple(shapes))


def _poll_label(call: Call) -> str:
    if call.error:
        return "error"
    return call.status or ""


def pictures(history: History) -> list[Picture]:
    drawn: list[Picture] = []
    if any(call.stream for call in history.calls):
        drawn.append(stream_timeline(history))
    if any(not call.stream for call in history.calls):
        drawn.append(poll_timeline(history))
    return drawn
