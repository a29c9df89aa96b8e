"""The package's layout (docs/design.md): pipeline stages as subpackages, imports only downward, no import
circles, a small shared top level, no module over 400 lines. Reads the sources' imports; runs nothing."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lip2speech"
# bottom to top: a module may import its own stage and the stages below it, never one above
STAGES = ["", "audio", "video", "corpus", "lips", "models", "data", "training", "inference", "evaluation",
          "experiments", "cli", "__main__"]
SHARED = {"__init__", "__main__", "errors", "fileio", "timebase", "config", "parallel", "media"}
MAX_LINES = 400


def _name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (at the top or inside a function), as dotted names."""
    files = {_name(p)[0]: p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[:len(base) - node.level + 1] + ([node.module] if node.module else [])
                else:
                    base = (node.module or "").split(".")
                # a name that is a submodule is that module; any other name comes from the module `base`
                found = [".".join(base + [a.name]) if ".".join(base + [a.name]) in files else ".".join(base)
                         for a in node.names]
            else:
                continue
            for target in found:  # the longest module name that the dotted name starts with
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGES) else ""


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_imports_only_downward():
    upward = [f"{m} -> {t}" for m, ts in import_graph().items() for t in ts
              if STAGES.index(stage(t)) > STAGES.index(stage(m))]
    assert upward == []


def test_every_stage_is_known():
    assert {stage(m) for m in import_graph()} <= set(STAGES)


def test_small_top_level():
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top <= SHARED and len(top) <= 8


def test_no_module_over_400_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_every_name_imported_from_the_package_exists():
    """`from lip2speech.x import name` (also relative, also inside functions) names something x really has."""
    import importlib
    import importlib.util

    missing = []
    root = PACKAGE.parents[1]
    others = [*(root / "tests").glob("*.py"), *(root / "benchmarks").glob("*.py")]  # absolute imports only
    for path in [*PACKAGE.rglob("*.py"), *others]:
        name, is_package = _name(path) if PACKAGE in path.parents else ("", False)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                module = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith("lip2speech"):
                continue
            mod = importlib.import_module(module)
            for alias in node.names:
                if not hasattr(mod, alias.name) and importlib.util.find_spec(f"{module}.{alias.name}") is None:
                    missing.append(f"{path.name}:{node.lineno} {module}.{alias.name}")
    assert missing == []
