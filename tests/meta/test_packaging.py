"""bgr installed as users install it (a wheel, not editable) beside a project with its own `harness` and
`mock_server` packages: that project's pytest must run as if bgr were not there, plugin and all."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

from tests.paths import ROOT

PROJECT_TEST = """\
from harness import NAME as HARNESS
from mock_server import NAME as MOCK


def test_the_projects_own_packages_win() -> None:
    assert (HARNESS, MOCK) == ("theirs", "theirs")
"""
INSTALL_SECONDS = 300


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, timeout=INSTALL_SECONDS, check=False
    )


def test_a_project_with_its_own_harness_package_runs_its_pytest(tmp_path: Path) -> None:
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", ROOT, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("bgr-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pytest_bgr.py" in names and "harness/conformance/pytest_plugin.py" in names

    # A fresh environment with pytest and the wheel alone: bgr's dependencies are not even needed to load the plugin.
    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    for what in (["pytest"], ["--no-deps", wheel]):
        installed = run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *what, cwd=tmp_path)
        assert installed.returncode == 0, installed.stderr

    project = tmp_path / "project"
    for package in ("harness", "mock_server"):
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").write_text('NAME = "theirs"\n')
    (project / "tests").mkdir()
    (project / "tests" / "test_theirs.py").write_text(PROJECT_TEST)
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')

    result = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    plugins = run(python, "-m", "pytest", "--help", cwd=project)
    assert "--bgr-agent" in plugins.stdout  # the plugin is loaded, it just imported nothing of bgr
