"""The import table of DESIGN.md, enforced by walking every module's AST.

- project imports: broker ← nothing; risk ← broker; agent ← broker; storage ← broker, risk; bot ← all;
- vendor SDKs have one home each: alpaca (broker/alpaca.py), openai and mem0 (one agent module each),
  yfinance (agent), telegram (bot/telegram_ui/ and the wiring), apscheduler (bot), SQL libraries (storage);
- risk/ stays pure: no I/O, no logging, no clock reads;
- bot/ holds the composition root at its top and everything else in sub-packages by job;
- no import cycles between modules (import-time imports; function-local and TYPE_CHECKING ones are lazy).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("broker", "risk", "agent", "storage", "bot")
ALLOWED_PROJECT = {
    "broker": set(),
    "risk": {"broker"},
    "agent": {"broker"},
    "storage": {"broker", "risk"},
    "bot": set(PACKAGES),
}
SQL_LIBS = {"sqlmodel", "sqlalchemy", "psycopg", "psycopg_pool", "alembic"}
RISK_THIRD_PARTY = {"pydantic", "numpy", "pandas"}
RISK_FORBIDDEN_STDLIB = {"logging", "os", "io", "socket", "subprocess", "time", "pathlib", "shutil", "random"}
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("datetime", "today"),
               ("time", "time")}


def _modules() -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for package in PACKAGES:
        found[package] = sorted(p for p in (ROOT / package).rglob("*.py") if "migrations/versions" not in str(p))
    return found


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name.split(".")[0] for name in names}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


MODULES = _modules()
ALL = [(package, path) for package, paths in MODULES.items() for path in paths]


@pytest.mark.parametrize(("package", "path"), ALL, ids=[_rel(p) for _, p in ALL])
def test_project_imports_follow_the_table(package: str, path: Path) -> None:
    imported = _imports(path) & set(PACKAGES)
    illegal = imported - ALLOWED_PROJECT[package] - {package}
    assert not illegal, f"{_rel(path)} imports {sorted(illegal)}"


def _importers(top: str) -> list[str]:
    return [_rel(path) for _, path in ALL if top in _imports(path)]


def test_alpaca_only_in_broker_alpaca() -> None:
    assert set(_importers("alpaca")) <= {"broker/alpaca.py"}


@pytest.mark.parametrize("sdk", ["openai", "mem0"])
def test_llm_and_memory_sdks_have_one_agent_module(sdk: str) -> None:
    importers = _importers(sdk)
    assert len(importers) <= 1 and all(p.startswith("agent/") for p in importers), importers


def test_yfinance_only_in_agent() -> None:
    assert all(p.startswith("agent/") for p in _importers("yfinance"))


def test_telegram_only_in_telegram_ui_and_wiring() -> None:
    assert all(p.startswith("bot/telegram_ui/") or p == "bot/wiring.py" for p in _importers("telegram"))
    assert not (ROOT / "bot" / "telegram").exists(), "never name a package `telegram`"


@pytest.mark.parametrize(("sdk", "home"), [("fastapi", "bot/web/"), ("uvicorn", "bot/web/"), ("starlette", "bot/web/"),
                                         ("dask", "bot/backtest/sweep.py"), ("distributed", "bot/backtest/sweep.py")])
def test_web_and_cluster_libraries_stay_in_their_module(sdk: str, home: str) -> None:
    """DESIGN.md: fastapi/uvicorn only in bot/web/, dask only in the sweep module."""
    assert all(p.startswith(home) for p in _importers(sdk)), _importers(sdk)


COMPOSITION_ROOT = {"settings.py", "wiring.py", "preflight.py", "llm_wiring.py", "memory_wiring.py", "status_wiring.py",
                    "market_wiring.py", "logging.py", "clock.py",
                    "llm_log.py", "__init__.py"}
BOT_JOBS = {"desk", "daemon", "cli", "telegram_ui", "web", "backtest", "evaluation", "sleeves"}


def test_bot_top_level_holds_the_composition_root_and_packages_by_job() -> None:
    """DESIGN.md's layout: bot/ keeps its wiring at the top and everything else in a sub-package by job."""
    top = ROOT / "bot"
    assert {p.name for p in top.glob("*.py")} <= COMPOSITION_ROOT
    assert {p.name for p in top.iterdir() if p.is_dir() and p.name != "__pycache__"} <= BOT_JOBS
    for init in top.glob("*/__init__.py"):  # importing one module of a package loads none of its siblings
        body = ast.parse(init.read_text()).body
        assert all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body), _rel(init)


def test_apscheduler_only_in_bot() -> None:
    assert all(p.startswith("bot/") for p in _importers("apscheduler"))


def test_sql_libraries_only_in_storage() -> None:
    offenders = defaultdict(list)
    for lib in SQL_LIBS:
        for path in _importers(lib):
            if not path.startswith("storage/"):
                offenders[lib].append(path)
    assert not offenders, dict(offenders)


@pytest.mark.parametrize("path", MODULES["risk"], ids=[_rel(p) for p in MODULES["risk"]])
def test_risk_is_pure(path: Path) -> None:
    imported = _imports(path)
    third_party = {name for name in imported if name not in PACKAGES and not _is_stdlib(name)}
    assert third_party <= RISK_THIRD_PARTY, f"{_rel(path)} imports {sorted(third_party - RISK_THIRD_PARTY)}"
    assert not imported & RISK_FORBIDDEN_STDLIB, f"{_rel(path)} imports {sorted(imported & RISK_FORBIDDEN_STDLIB)}"
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            owner = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
            assert (owner, node.func.attr) not in CLOCK_CALLS, f"{_rel(path)} reads the clock"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"open", "print", "input"}, f"{_rel(path)} does I/O ({node.func.id})"


def _is_stdlib(name: str) -> bool:
    import sys

    return name in sys.stdlib_module_names or name == "__future__"


def test_nothing_is_built_at_import_time() -> None:
    """Module bodies define things; they do not open engines, clients or files."""
    suspicious = {"make_engine", "create_engine", "load_settings", "Settings", "AsyncOpenAI", "TradingClient"}
    for _, path in ALL:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            value = node.value if isinstance(node, (ast.Assign, ast.Expr, ast.AnnAssign)) else None
            if isinstance(value, ast.Call):
                func = value.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                assert name not in suspicious, f"{_rel(path)} calls {name} at import time"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path, known: set[str]) -> set[str]:
    """Project modules imported when this module is imported (its body, not functions or TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # ``from pkg import submodule`` needs the submodule, not pkg's body
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return found & known


def test_no_import_cycles_between_modules() -> None:
    """Every module can be imported on its own: the graph of import-time imports has no cycle."""
    paths = {_module_name(path): path for _, path in ALL}
    graph = {name: _top_level_imports(path, set(paths)) - {name} for name, path in paths.items()}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)) is not None:
            raise AssertionError("import cycle: " + " -> ".join(cycle))
