"""What one context may import from another: its `services`, `selectors` and `models`, its
`events` (the topics it publishes, which others subscribe to), and tenancy's `permissions`
(the role table every context checks). Forms, views, APIs, decorators
and helpers stay private. `core` is shared by all and imports no context (import-linter)."""

from __future__ import annotations

import ast
from pathlib import Path

PUBLIC_MODULES = {"services", "selectors", "models", "events"}
PUBLIC_BY_CONTEXT = {"tenancy": {"permissions"}}
SHARED = {"core"}


def _imported_modules(tree: ast.AST) -> list[str]:
    modules = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if len(parts) == 2 and parts[0] == "pasar":
                # `from pasar.catalog import services`: the names are modules.
                modules += [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                modules.append(node.module)
    return modules


def test_contexts_import_only_each_others_public_modules() -> None:
    contexts = {path.parent.name for path in Path("pasar").glob("*/apps.py")}
    crossings = []
    for path in sorted(Path("pasar").rglob("*.py")):
        parts = path.parts
        if len(parts) < 3 or parts[1] not in contexts or "migrations" in parts:
            continue
        importer = parts[1]
        for module in _imported_modules(ast.parse(path.read_text())):
            names = module.split(".")
            if len(names) < 3 or names[0] != "pasar" or names[1] not in contexts:
                continue
            owner, room = names[1], names[2]
            if owner in (importer, *SHARED):
                continue
            if room not in PUBLIC_MODULES | PUBLIC_BY_CONTEXT.get(owner, set()):
                crossings.append(f"{path} imports {module}")
    assert crossings == []


def test_the_check_sees_a_crossing() -> None:
    tree = ast.parse("from pasar.tenancy.forms import X\nfrom pasar.catalog import api\n")
    assert _imported_modules(tree) == ["pasar.tenancy.forms", "pasar.catalog.api"]
