"""The house's import rules (STYLE.md), read from the source: the domain imports only the standard library and the
kernel's errors; no service imports another; the kernel imports no service; nothing in services/ imports devstack."""
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
OTHERS = {p.name for p in SERVICES.iterdir() if (p / "__init__.py").is_file()} - {"kernel"}


def imports(path: Path) -> set[str]:
    """The modules a file imports, relative imports made absolute (`from . import x` is `package.x`)."""
    package = list(path.relative_to(ROOT).parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            found |= {".".join(base + [node.module])} if node.module else {".".join(base + [a.name]) for a in node.names}
    return found


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_the_domain_imports_only_the_standard_library_and_the_kernel_errors():
    modules = {p: dotted(p) for p in [*SERVICES.glob("*/domain.py"), SERVICES / "catalogue/publishing/domain.py"]}
    modules |= {p: dotted(d) for d in SERVICES.glob("*/domain") for p in d.rglob("*.py")}  # may import each other
    assert len(modules) >= 6
    assert [f"{dotted(p)} imports {m}" for p, own in modules.items() for m in imports(p)
            if m.split(".")[0] not in sys.stdlib_module_names and not within(m, own, "services.kernel.errors")] == []


def test_no_service_imports_another_the_kernel_none_and_nothing_devstack():
    assert OTHERS >= {"referrals", "catalogue", "attendance", "reporting"}
    assert [f"{dotted(p)} imports {m}" for p in SERVICES.rglob("*.py") for m in imports(p)
            if within(m, "devstack", *(f"services.{s}" for s in OTHERS - {p.relative_to(SERVICES).parts[0]}))] == []
