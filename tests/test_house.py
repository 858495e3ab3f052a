"""The house rules of the code: no import cycle among newswatch's modules (lazy imports included), no
private name imported across modules, no module over 700 lines."""

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "worker"


def modules() -> dict[str, Path]:
    return {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py")}


def imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names imported) for every import of the project's own modules."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("worker"):
                out.append((target, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("worker")]
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for target, names in imports(name, path):
            # "from . import x" or "from .relevance import batch" name modules, not attributes
            for candidate in [f"{target}.{n}" for n in names] + [target]:
                if candidate in mods and candidate != name:
                    edges[name].add(candidate)
                    break
    return edges


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)


def test_no_private_name_crosses_modules():
    found = [(name, target, n) for name, path in modules().items() for target, names in imports(name, path)
             for n in names if n.startswith("_") and not n.endswith("__") and target != name]
    assert not found, found


def test_no_module_over_700_lines():
    long = {name: n for name, p in modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 700}
    assert not long, long
