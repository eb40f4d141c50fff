"""The package structure holds: import rules, no import cycle, a checked pynetdicom."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from dicomnet import pynetdicom_compat

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dicomnet", "film", "lut", "print_scp", "print_scu")


def test_import_contracts_are_kept() -> None:
    """import-linter's contracts of pyproject.toml (imports point downwards only)."""
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports is not None, "import-linter is a test dependency"
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_import_cycle_at_run_time_or_in_type_checking() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False, cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "b", "c"):
        graph.add_module(module)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="c")
    graph.add_import(importer="c", imported="a")
    assert _cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", ["print_scu.config", "print_scp.profile"])
def test_loading_a_printer_profile_imports_no_networking(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if 'pynetdicom' in m))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_the_installed_pynetdicom_has_every_name_the_hardening_touches() -> None:
    assert pynetdicom_compat.missing_names() == []
    pynetdicom_compat.check_pynetdicom()


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0", "4.0.0"])
def test_a_pynetdicom_outside_the_supported_range_is_refused_by_name(version: str) -> None:
    with pytest.raises(pynetdicom_compat.UnsupportedPynetdicom,
                       match=rf"pynetdicom >= 3\.0\.4, < 3\.1 .* pynetdicom {version} is"):
        pynetdicom_compat.check_pynetdicom(version)


def test_a_missing_private_name_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from pynetdicom.dul import DULServiceProvider

    monkeypatch.delattr(DULServiceProvider, "_decode_pdu")
    with pytest.raises(pynetdicom_compat.UnsupportedPynetdicom,
                       match=r"lacks DULServiceProvider\._decode_pdu"):
        pynetdicom_compat.check_pynetdicom()
