"""`results.json`: the whole result model, histories included, so a run can be judged or drawn again."""

from __future__ import annotations

from pathlib import Path

import orjson

from harness.conformance.results import RunResult

FILE_NAME = "results.json"


def render_json(result: RunResult) -> bytes:
    # Non-string keys can appear in free-form fields (extra, expectations); keep them rather than fail.
    return orjson.dumps(
        result.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
    )


def write_json(result: RunResult, directory: Path) -> Path:
    path = directory / FILE_NAME
    path.write_bytes(render_json(result))
    return path
