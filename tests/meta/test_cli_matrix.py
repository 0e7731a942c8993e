"""`bgr matrix` as a user runs it: the pages and baselines it writes, one-line errors on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT

BGR = str(Path(sys.executable).parent / "bgr")


def bgr_matrix(reports: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BGR, "matrix", "--reports", str(reports)], capture_output=True, text=True, timeout=120)


def test_it_writes_both_pages_and_a_baseline_for_each_failing_report(tmp_path: Path) -> None:
    for folder in ("openai", "pydantic-ai"):
        (tmp_path / folder).mkdir()
        shutil.copy(ROOT / "reports" / folder / "results.json", tmp_path / folder / "results.json")
    result = bgr_matrix(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "matrix.md").is_file() and (tmp_path / "matrix.html").is_file()
    assert (tmp_path / "pydantic-ai" / "expected-failures.txt").is_file()
    assert not (tmp_path / "openai" / "expected-failures.txt").exists(), "the reference passes: no baseline"


def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    missing = bgr_matrix(tmp_path / "nowhere")
    empty = bgr_matrix(tmp_path)
    (tmp_path / "future").mkdir()
    (tmp_path / "future" / "results.json").write_text(json.dumps({"version": 9}))
    future = bgr_matrix(tmp_path)
    for result, says in ((missing, "no such folder"), (empty, "no <folder>/results.json"), (future, "version 9")):
        assert result.returncode != 0
        assert says in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
