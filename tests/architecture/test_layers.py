"""The layer rule, enforced on every import of the product: statements at any depth (lazy imports inside
functions included), relative imports, and `importlib.import_module("...")` calls with a literal name.

Bottom: db and engine (engine/base is the foundation of engine and imports nothing else of it; db may use
engine/base only). Above them: indexer. Above both: the applications (cli/demo, cli/server), which hold no
typer code. On top: cli's typer modules. Nothing imports a layer above it, and no product module imports
benchmarks/ or tests/.

Inside engine/, its subpackages are ordered too (ENGINE_ORDER): a subpackage imports only those of a lower
rank, never one of its own rank or above. No import cycle is left between files either.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPLICATIONS = ("cli.demo", "cli.server")
CLI_EDGE = ("typer", "rich", "cli.app", "cli.options", "cli.output", "cli.cmd_")


PRODUCT = ("engine", "indexer", "db", "cli")
# Inside engine: rank 0 imports nothing of engine; rank r only subpackages of a lower rank.
ENGINE_ORDER = {
    "base": 0,
    "data": 1, "metrics": 1,
    "calibrate": 2,
    "model": 3,  # model.pt carries a calibrate.platt.PairCalibration
    "prepare": 4, "inference": 4,
    "train": 5,
    "evaluate": 6,
    "synthetic": 7,
}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package.replace(".", "/")).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import in the file, at any depth: absolute and relative
    statements (`from X import a` also counts as X.a, which may be a module) and importlib calls."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = _package_of(path).split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([module] if module else []))
            if module:
                found += [(node.lineno, module)]
                found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found += [(node.lineno, arg.value)]
    return found


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("import_module", "__import__"))


def _matches(name: str, pattern: str) -> bool:
    """`pattern` and its submodules; a pattern ending in "." or "_" is a bare prefix."""
    if pattern.endswith((".", "_")):
        return name.startswith(pattern)
    return name == pattern or name.startswith(pattern + ".")


def _violations(package: str, forbidden: tuple[str, ...], *, allowed: tuple[str, ...] = ()) -> list[str]:
    out = []
    for path in _modules(package):
        for line, name in _imports(path):
            hit = any(_matches(name, f) for f in forbidden)
            if hit and not any(name == a or (a.endswith(".") and name.startswith(a)) for a in allowed):
                out.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return out


@pytest.mark.parametrize(("package", "forbidden", "allowed"), [
    ("engine", ("indexer", "cli", "db"), ()),
    ("engine.base", ("engine",), ("engine.base.", "engine", "engine.__version__")),
    ("db", ("indexer", "cli", "engine"), ("engine.base.",)),
    ("indexer", ("cli",), ()),
    *((app, CLI_EDGE, ()) for app in APPLICATIONS),
], ids=["engine", "engine.base", "db", "indexer", *APPLICATIONS])
def test_no_package_imports_a_layer_above_it(package, forbidden, allowed):
    assert _violations(package, forbidden, allowed=allowed) == []


def test_the_rule_sees_lazy_imports(tmp_path, monkeypatch):
    """The checker itself: an import inside a function body counts."""
    fake = tmp_path / "engine" / "lazy.py"
    fake.parent.mkdir()
    fake.write_text("def f():\n    from indexer.search import query_images\n    import cli.app\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert _violations("engine", ("indexer", "cli")) == [
        "engine/lazy.py:2 imports indexer.search", "engine/lazy.py:2 imports indexer.search.query_images",
        "engine/lazy.py:3 imports cli.app",
    ]


def _engine_order_violations() -> list[str]:
    out = []
    for path in _modules("engine"):
        rel = path.relative_to(ROOT / "engine").parts
        if len(rel) < 2:
            continue  # engine/__init__.py and loose modules: not a subpackage
        own = rel[0]
        for line, name in _imports(path):
            parts = name.split(".")
            if parts[0] != "engine" or len(parts) < 2 or parts[1] not in ENGINE_ORDER or parts[1] == own:
                continue
            if ENGINE_ORDER[parts[1]] >= ENGINE_ORDER[own]:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {name} (engine.{own} may only import lower ranks)")
    return out


def test_engine_subpackages_import_only_lower_ranks():
    subpackages = {p.name for p in (ROOT / "engine").iterdir() if (p / "__init__.py").is_file()}
    assert subpackages == set(ENGINE_ORDER), "give every engine subpackage a rank in ENGINE_ORDER"
    assert _engine_order_violations() == []


def test_the_order_rule_fails_on_a_planted_upward_import(tmp_path, monkeypatch):
    """Self-test: metrics (rank 1) importing calibrate (rank 2) is caught, as a statement, a relative
    import and an importlib call; a sibling of the same rank (data) too."""
    fake = tmp_path / "engine" / "metrics" / "planted.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        "import importlib\n"
        "from engine.calibrate.platt import probability\n"
        "from ..calibrate import fit\n"
        "def f():\n    return importlib.import_module('engine.train.trainer')\n"
        "from engine.data import walk\n"
        "from engine.base.vectors import l2_normalize\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    found = _engine_order_violations()
    assert sorted(v.split(" imports ")[1].split(" (")[0] for v in found) == [
        "engine.calibrate", "engine.calibrate.fit", "engine.calibrate.platt", "engine.calibrate.platt.probability",
        "engine.data", "engine.data.walk", "engine.train.trainer",
    ]


def _import_graph() -> dict[str, set[str]]:
    """Product module -> the product modules it imports (its own parent packages left out: Python
    imports a package before its submodules anyway)."""
    paths = {_module_name(p): p for package in PRODUCT for p in _modules(package)}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        ancestors = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        for _, imported in _imports(path):
            target = imported
            while target and target not in paths:
                target = target.rpartition(".")[0]
            if target and target != name and target not in ancestors:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_files():
    assert _cycles(_import_graph()) == []


def test_the_cycle_check_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_product_module_imports_benchmarks_or_tests():
    out = [f"{p.relative_to(ROOT)}:{line} imports {name}" for package in PRODUCT for p in _modules(package)
           for line, name in _imports(p) if name.split(".")[0] in ("benchmarks", "tests")]
    assert out == []


def test_the_research_harness_is_not_in_the_product():
    names = {p.stem for package in PRODUCT for p in _modules(package)}
    assert not names & {"crossval", "cv_features", "cv_recipes", "calibration_probes"}


def test_engine_has_few_loose_modules_and_its_concerns_as_subpackages():
    engine = ROOT / "engine"
    loose = [p.name for p in engine.glob("*.py") if p.name != "__init__.py"]
    subpackages = [p.name for p in engine.iterdir() if (p / "__init__.py").is_file()]
    assert len(loose) <= 8, loose
    assert len(subpackages) >= 5, subpackages
