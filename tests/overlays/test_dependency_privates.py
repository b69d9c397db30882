"""No module of ours reads a private (``_``-prefixed) attribute of httpx, httpcore or another dependency.

A dependency's private attributes may move in any release, silently. This test parses every
module under overlays/, tools/ and benchmarks/ and tells a dependency's objects from ours
statically:

* a *dependency* is a module that is installed in site-packages (httpx, httpcore, orjson, ...):
  not the standard library, not our package, not the generated one, not a local helper;
* a *dependency name* is bound by importing such a module or something from it;
* a *dependency object* is a dependency name, anything reached from one (``httpx.Client``),
  the result of calling one (``httpx.Client(...)``), a variable or parameter annotated with a
  dependency type (``client: httpx.Client``), a variable assigned from one of those, or a
  ``self`` attribute annotated or assigned so (``self.http: httpx.Client``).

Reading ``obj._name`` (or ``getattr``/``setattr``/``hasattr`` with a literal ``"_name"``) on a
dependency object, or importing ``_name`` from a dependency or from one of its private
modules (``from httpx._utils import ...``), fails the test. Dunders (``__name__``) are public.

Limits: types that flow through an unannotated return value, a container or a function
argument without an annotation are not followed (``f(client)._pool`` inside ``f`` with an
untyped parameter passes); names are tracked per module, not per scope; a computed attribute
name (``getattr(x, name)``) is not seen; the standard library's privates are not checked.
Tests (which may look inside to prove a point) are not scanned.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("overlays", "tools", "benchmarks")
OURS = frozenset({"jiguang_growth", "jiguang_growth_generated"})
ATTRIBUTE_CALLS = frozenset({"getattr", "setattr", "hasattr", "delattr"})


@cache
def is_dependency(module: str) -> bool:
    """Whether ``module`` (a dotted name) belongs to an installed third-party distribution."""
    top = module.split(".", maxsplit=1)[0]
    if not top or top in OURS or top in sys.stdlib_module_names:
        return False
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    origin = (spec.origin or "") if spec is not None else ""
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return any("site-packages" in place for place in [origin, *locations])


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


class _Scanner(ast.NodeVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()
        """Names bound to a dependency module or to something imported from one."""
        self.objects: set[str] = set()
        """Variables and parameters holding a dependency object."""
        self.self_attributes: set[str] = set()
        """``self.<name>`` attributes holding a dependency object."""
        self.found: list[tuple[int, str]] = []

    # -- what is a dependency object --------------------------------------------------------------

    def _root(self, node: ast.expr) -> ast.expr:
        while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
            node = node.func if isinstance(node, ast.Call) else node.value
        return node

    def is_dependency_object(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.names or node.id in self.objects
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and node.attr in self.self_attributes
        ):
            return True
        if isinstance(node, ast.Attribute | ast.Call):
            root = self._root(node)
            return isinstance(root, ast.Name) and root.id in self.names
        return False

    def _annotation_is_dependency(self, annotation: ast.expr | None) -> bool:
        if annotation is None:
            return False
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return False
        if isinstance(annotation, ast.BinOp):  # X | None: a dependency type if either side is
            return self._annotation_is_dependency(annotation.left) or self._annotation_is_dependency(
                annotation.right
            )
        if isinstance(annotation, ast.Subscript):
            return self._annotation_is_dependency(annotation.value)
        root = self._root(annotation)
        return isinstance(root, ast.Name) and root.id in self.names

    def _bind(self, target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.objects.add(target.id)
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        ):
            self.self_attributes.add(target.attr)

    # -- binding ----------------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if is_dependency(alias.name):
                self._check_module_path(node, alias.name)
                self.names.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level == 0 and is_dependency(module):
            self._check_module_path(node, module)
            for alias in node.names:
                if _private(alias.name):
                    self.found.append((node.lineno, f"from {module} import {alias.name}"))
                self.names.add(alias.asname or alias.name)

    def _check_module_path(self, node: ast.stmt, module: str) -> None:
        if any(_private(part) for part in module.split(".")):
            self.found.append((node.lineno, f"import of the private module {module}"))

    def visit_arg(self, node: ast.arg) -> None:
        if self._annotation_is_dependency(node.annotation):
            self.objects.add(node.arg)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if self._annotation_is_dependency(node.annotation) or (
            node.value is not None and self.is_dependency_object(node.value)
        ):
            self._bind(node.target)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if self.is_dependency_object(node.value):
            for target in node.targets:
                self._bind(target)
        self.generic_visit(node)

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None and self.is_dependency_object(node.context_expr):
            self._bind(node.optional_vars)
        self.generic_visit(node)

    # -- reading ----------------------------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _private(node.attr) and self.is_dependency_object(node.value):
            self.found.append((node.lineno, f"{ast.unparse(node)}"))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if (
            isinstance(node.func, ast.Name)
            and node.func.id in ATTRIBUTE_CALLS
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
            and self.is_dependency_object(node.args[0])
        ):
            self.found.append((node.lineno, ast.unparse(node)))
        self.generic_visit(node)


def private_reads(source: str) -> list[tuple[int, str]]:
    """Where ``source`` reads a private attribute of a dependency: (line, what)."""
    tree = ast.parse(source)
    scanner = _Scanner()
    # Two passes: the first learns the names (an attribute may be bound after the method that reads it).
    scanner.visit(tree)
    scanner.found = []
    scanner.visit(tree)
    return scanner.found


def _modules() -> list[Path]:
    return sorted(path for folder in SCANNED for path in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_reads_a_private_attribute_of_a_dependency(path: Path) -> None:
    found = private_reads(path.read_text(encoding="utf-8"))
    assert not found, "\n".join(f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in found)


# The rule itself: what it must catch (the patch this test replaced, among others) and what it must not.
CAUGHT = {
    "attribute chain from a created client": (
        "import httpx\ndef f(client: httpx.Client):\n    return client._transport._pool\n"
    ),
    "getattr with a literal private name": (
        "import httpx\ndef f(client: httpx.Client):\n    return getattr(client, '_mounts', {})\n"
    ),
    "assignment through a self attribute": (
        "import httpcore\nclass C:\n    def __init__(self):\n        self.pool = httpcore.ConnectionPool()\n"
        "    def f(self):\n        self.pool._network_backend = None\n"
    ),
    "a private module of a dependency": "from httpx._utils import get_environment_proxies\n",
    "a private name from a dependency": "from httpx import _api\n",
    "a variable assigned a dependency object": (
        "import httpx\ndef f():\n    client = httpx.Client()\n    return client._transport\n"
    ),
    "a string annotation with None": (
        "import httpx\ndef f(response: 'httpx.Response | None'):\n    return response._content\n"
    ),
}
NOT_CAUGHT = {
    "our own private attribute": "class C:\n    def f(self):\n        return self._http\n",
    "a dunder of a dependency": "import httpx\nprint(httpx.__version__)\n",
    "the standard library": "import sys\nsys._getframe()\n",
    "our own module": "from jiguang_growth import _spec\n_spec._cached = 1\n",
}


@pytest.mark.parametrize("source", CAUGHT.values(), ids=CAUGHT.keys())
def test_the_rule_catches(source: str) -> None:
    assert private_reads(source)


@pytest.mark.parametrize("source", NOT_CAUGHT.values(), ids=NOT_CAUGHT.keys())
def test_the_rule_leaves_alone(source: str) -> None:
    assert private_reads(source) == []
