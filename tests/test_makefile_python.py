"""The Makefile finds a Python 3.11, rebuilds a .venv made by another Python, and says in one line what to install.

Each test runs ``make`` on a copy of the Makefile and pyproject.toml with a PATH holding only fake interpreters
(shell scripts printing a version), so nothing is installed: ``python-check`` only checks, ``-n`` only plans.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def _interpreter(path: Path, version: str) -> None:
    """A fake Python that answers the Makefile's version question with ``version``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {version}\n", encoding="utf-8")
    path.chmod(0o755)


def _project(tmp_path: Path, **pythons: str) -> Path:
    """A copy of the Makefile and pyproject.toml, with fake interpreters (``python3="3.12"``) on its own PATH."""
    (tmp_path / "bin").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name, version in pythons.items():
        _interpreter(tmp_path / "bin" / name.replace("_", "."), version)
    return tmp_path


def make(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run make in ``project`` with only its fake interpreters on PATH."""
    assert MAKE is not None
    variables = {k: v for k, v in os.environ.items() if k not in {"PYTHON", "MAKEFLAGS", "MAKELEVEL"}}
    return subprocess.run([MAKE, "--no-print-directory", *args], cwd=project, capture_output=True, text=True,
                          env={**variables, "PATH": str(project / "bin"), **env}, check=False, timeout=60)


def _venv(project: Path, version: str) -> None:
    """A .venv whose Python is ``version``, installed (stamps newer than pyproject.toml)."""
    _interpreter(project / ".venv" / "bin" / "python", version)
    later = (project / "pyproject.toml").stat().st_mtime + 10
    for stamp in (".installed-stamp", ".dev-stamp"):
        (project / ".venv" / stamp).touch()
        os.utime(project / ".venv" / stamp, (later, later))


def test_without_a_python_3_11_make_says_in_one_line_what_to_install(tmp_path: Path) -> None:
    project = _project(tmp_path, python3="3.12")
    for args in (("python-check",), ("-n", "demo"), ("-n", "test")):
        result = make(project, *args)
        assert result.returncode != 0 and result.stdout == ""
        assert result.stderr.count("\n") == 1, result.stderr
        assert "paperdesk needs Python 3.11, and neither python3.11 nor python3 (Python 3.12) is one" in result.stderr
        assert "install Python 3.11 (apt install python3.11 python3.11-venv" in result.stderr
    assert not (project / ".venv").exists()


def test_a_named_python_that_is_not_3_11_is_refused_in_one_line(tmp_path: Path) -> None:
    project = _project(tmp_path, python3="3.12", python3_11="3.11")
    result = make(project, "-n", "demo", PYTHON="python3")
    assert result.returncode != 0 and result.stderr.count("\n") == 1
    assert "PYTHON=python3 is Python 3.12: install Python 3.11" in result.stderr
    missing = make(project, "python-check", PYTHON="/nowhere/python")
    assert missing.returncode != 0 and "PYTHON=/nowhere/python is not a Python that runs" in missing.stderr


def test_python3_11_comes_first_then_python3_when_it_is_3_11(tmp_path: Path) -> None:
    both = _project(tmp_path / "both", python3="3.12", python3_11="3.11")
    assert "python3.11 -m venv .venv\n" in make(both, "-n", "demo").stdout
    only = _project(tmp_path / "only", python3="3.11")
    plan = make(only, "-n", "demo")
    assert plan.returncode == 0 and "\npython3 -m venv .venv\n" in plan.stdout
    assert make(only, "python-check").returncode == 0


def test_a_venv_made_by_another_python_is_rebuilt(tmp_path: Path) -> None:
    project = _project(tmp_path, python3="3.12", python3_11="3.11")
    _venv(project, "3.12")  # `make demo` with python3 3.12 got this far before pip refused
    plan = make(project, "-n", "demo").stdout.splitlines()
    assert plan.index("rm -rf .venv") < plan.index("python3.11 -m venv .venv") < plan.index(
        ".venv/bin/paperdesk cycle")
    rm = shutil.which("rm")
    assert rm is not None
    (project / "bin" / "rm").symlink_to(rm)
    removed = make(project, "stale-venv")
    assert removed.returncode == 0
    assert removed.stdout.startswith(".venv was made by Python 3.12, not 3.11: rebuilding it with python3.11\n")
    assert not (project / ".venv").exists()


def test_a_venv_whose_python_is_gone_is_rebuilt(tmp_path: Path) -> None:
    project = _project(tmp_path, python3_11="3.11")
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "python").symlink_to(tmp_path / "uninstalled" / "python3.11")
    plan = make(project, "-n", "test").stdout
    assert "a Python that no longer runs" in plan and "rm -rf .venv\npython3.11 -m venv .venv\n" in plan


def test_a_good_venv_is_reused(tmp_path: Path) -> None:
    project = _project(tmp_path, python3="3.12", python3_11="3.11")
    _venv(project, "3.11")
    assert make(project, "-n", "demo").stdout.splitlines() == [":", ".venv/bin/paperdesk cycle"]
    assert make(project, "-n", "test").stdout.splitlines() == [":", ".venv/bin/python -m pytest"]
