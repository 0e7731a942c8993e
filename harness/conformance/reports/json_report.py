"""`results.json`: the whole result model, histories included, so a run can be judged or drawn again."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from harness.conformance.results import RunResult

FILE_NAME = "results.json"


def render_json(result: RunResult) -> bytes:
    data = result.as_dict()
    try:
        # Non-string keys can appear in free-form fields (extra, expectations); keep them rather than fail.
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        # A string orjson refuses (an agent's token or text with a lone surrogate): JSON's \uXXXX escapes
        # carry it exactly, and reading the file back gives the same string, so a rejudge sees what the run saw.
        return (json.dumps(data, ensure_ascii=True, indent=2, default=str) + "\n").encode("ascii")


def write_json(result: RunResult, directory: Path) -> Path:
    path = directory / FILE_NAME
    path.write_bytes(render_json(result))
    return path
