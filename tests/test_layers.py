"""Layers import only downward, and no modules import each other in a circle.

The order is written once, here (and in the README's layout table). A package may import its
own floor and the floors below; `client` is the SDK and imports nothing of the server. Imports
under `if TYPE_CHECKING:` are type hints only and are not counted.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "foretell"

# Lowest first. Each floor may import itself and everything below it, nothing above.
LAYERS: list[tuple[str, ...]] = [
    ("domain", "config"),  # pure types: money, prices, orders, commands, events, settings
    ("engine",),  # the deterministic state machine
    ("journal", "store"),  # durable command log (bytes); SQL schema, projector, queries
    ("exchange",),  # sequence -> journal -> apply -> acknowledge -> publish; recovery; wiring
    ("services", "news", "chain", "cluster"),  # verbs (refusal codes, no HTTP); cluster wiring
    ("demo",),  # the seed-based demo, through the verbs like any operator
    ("api", "web", "bench"),  # HTTP, WebSocket, pages; benchmarks drive the edges
    ("app", "cli"),  # the app factory and the command line: everything wired
]
ISLANDS = ("client",)  # the SDK: imports nothing of the server (the server may use it)


def _floor() -> dict[str, int]:
    return {name: i for i, names in enumerate(LAYERS) for name in names}


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _runtime_imports(tree: ast.Module, modules: set[str]) -> list[str]:
    """foretell modules imported, outside `if TYPE_CHECKING:` blocks. `from pkg import mod`
    depends on `pkg.mod`, not on everything `pkg/__init__` imports."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("foretell"):
                submodules = [f"{node.module}.{a.name}" for a in node.names
                              if f"{node.module}.{a.name}" in modules]
                found.extend(submodules)
                if len(submodules) < len(node.names):
                    found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names if a.name.startswith("foretell"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    paths = [p for p in SRC.rglob("*.py") if "migrations" not in p.parts]
    modules = {_module(p) for p in paths}
    graph: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        source = _module(path)
        for target in _runtime_imports(ast.parse(path.read_text()), modules):
            if target in modules and target != source:
                graph[source].add(target)
    return graph


def test_every_package_has_a_floor() -> None:
    packages = {_package(_module(p)) for p in SRC.rglob("*.py")} - {""}
    unplaced = packages - set(_floor()) - set(ISLANDS)
    assert not unplaced, f"put these in LAYERS: {sorted(unplaced)}"


def test_imports_only_go_down() -> None:
    floor = _floor()
    upward = []
    for source, targets in _graph().items():
        here = _package(source)
        for target in targets:
            there = _package(target)
            if here == there or not there:
                continue
            if here in ISLANDS or there in ISLANDS:
                if here in ISLANDS:
                    upward.append(f"{source} -> {target} (the SDK imports nothing of the server)")
                continue
            if floor[there] > floor[here]:
                upward.append(f"{source} -> {target}")
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_import_cycles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
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
                cycles.append(sorted(component))

    for v in list(graph):
        if v not in index:
            connect(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_server_keeps_the_default_recursion_limit() -> None:
    """A dependency (py_ecc, under web3) raised the limit to 100,000 on import; one deeply
    nested JSON body then overflowed the C stack and killed the server (segfault)."""
    import subprocess
    import sys

    probe = ("import sys; import foretell.app, foretell.chain.runner, foretell.chain.evm; "
             "print(sys.getrecursionlimit())")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120)
    assert int(out.stdout) <= 10_000
