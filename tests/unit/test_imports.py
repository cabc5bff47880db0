"""Dependencies point one way: no import circles, and recovery is passed in, not imported — no I/O."""
import ast
from pathlib import Path

from services.kernel.config import PROJECT_ROOT

SERVICES = PROJECT_ROOT / "services"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The modules of services/ that `path` imports, anywhere in it (a lazy import still makes a circle)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:  # `from . import x` imports module x if there is one, else a name of the package
                found.add(f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    paths = [p for p in SERVICES.rglob("*.py") if "migrations" not in p.parts]
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def a_circle(graph: dict[str, set[str]]) -> list[str] | None:
    done, on_path = set(), []

    def visit(m):
        if m in on_path:
            return on_path[on_path.index(m):] + [m]
        if m in done:
            return None
        on_path.append(m)
        for d in sorted(graph[m]):
            circle = visit(d)
            if circle:
                return circle
        on_path.pop()
        done.add(m)
        return None

    for m in sorted(graph):
        circle = visit(m)
        if circle:
            return circle
    return None


def test_no_module_of_services_imports_itself_through_others():
    assert a_circle(import_graph()) is None


def test_the_relay_and_the_consumer_are_given_recovery_and_do_not_import_it():
    graph = import_graph()
    kernel_side = [m for m in graph if m == "services.kernel.relay" or m.startswith("services.kernel.consumer")]
    assert "services.kernel.consumer.apply" in kernel_side
    for m in kernel_side:
        assert "services.kernel.recovery" not in graph[m], m
    assert "services.kernel.relay" not in graph["services.kernel.outbox"]  # the outbox is the database side only
