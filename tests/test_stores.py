"""Stores by URL scheme from one registry; no store module imports another's."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import gallerypipe
from gallerypipe.storage import LocalStorage
from gallerypipe.stores import STORES, StorageError, StoreOptions, kind_of, open_store


def test_a_path_or_file_url_is_a_local_folder(tmp_path: Path) -> None:
    for url in (str(tmp_path / "a"), f"file://{tmp_path}/a", "published"):
        store = open_store(url)
        assert isinstance(store, LocalStorage)
    assert open_store(f"file://{tmp_path}/a").root == tmp_path / "a"


def test_an_unknown_scheme_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(StorageError, match=r"gs://b/e: no store for gs:// URLs.*s3://bucket"):
        open_store("gs://b/e")


def test_each_store_names_the_options_it_reads() -> None:
    fields = set(StoreOptions.__dataclass_fields__)
    assert set(STORES) == {"file", "s3"}
    for kind in STORES.values():
        assert set(kind.options) <= fields
        assert kind_of(kind.example) is kind
    assert "endpoint_url" in STORES["s3"].options and "endpoint_url" not in STORES["file"].options


def imports(module: Path) -> set[str]:
    """The gallerypipe modules a module imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [a.name for a in node.names]
            found.update(name.split(".")[0] for name in names)
    return found


def test_no_module_of_the_package_imports_itself_back() -> None:
    package = Path(gallerypipe.__file__).parent
    graph = {path.stem: imports(path) for path in package.glob("*.py")}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            n == goal or (n not in seen and reaches(n, goal, seen | {n}))
            for n in graph.get(start, ())
        )

    assert "stores" in graph["s3"] and "s3" not in graph["storage"]
    assert [name for name in graph if reaches(name, name, set())] == []


def test_opening_a_local_store_does_not_import_boto3(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from gallerypipe.stores import open_store\n"
        f"open_store({str(tmp_path)!r}).list()\n"
        "assert 'boto3' not in sys.modules, 'boto3 imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
