"""The layer rule, enforced on every import statement of the product (lazy imports inside functions included).

Bottom: db and engine (engine/base is the foundation of engine and imports nothing else of it; db may use
engine/base only). Above them: indexer. Above both: the applications (cli/demo, cli/server), which hold no
typer code. On top: cli's typer modules. Nothing imports a layer above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPLICATIONS = ("cli.demo", "cli.server")
CLI_EDGE = ("typer", "rich", "cli.app", "cli.options", "cli.output", "cli.cmd_")


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package.replace(".", "/")).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


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


def test_engine_has_few_loose_modules_and_its_concerns_as_subpackages():
    engine = ROOT / "engine"
    loose = [p.name for p in engine.glob("*.py") if p.name != "__init__.py"]
    subpackages = [p.name for p in engine.iterdir() if (p / "__init__.py").is_file()]
    assert len(loose) <= 8, loose
    assert len(subpackages) >= 5, subpackages
