"""`gallerypipe sync` over a small library: incremental, locked, machine-readable; Dask too."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from gallerypipe.cli import main
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.sync import EXIT_LOCKED, hold_lock

CONFIG = """
[store]
url = "published"

[[events]]
name = "spark-2018"
sources = ["cards/card-a", "cards/card-b"]
bundle = "site/content/stories/spark-2018"

[[events]]
name = "phone"
sources = ["cards/phone"]
bundle = "site/content/stories/phone"
prefix = "phone-export"
"""


@pytest.fixture
def library(cards: Path, tmp_path: Path) -> Path:
    (tmp_path / "gallerypipe.toml").write_text(CONFIG)
    return tmp_path


def run_sync(library: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gallerypipe", "sync", "--json", *extra],
        cwd=library,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )


def by_event(result: subprocess.CompletedProcess) -> dict[str, dict]:
    return {e["event"]: e for e in json.loads(result.stdout)["events"]}


def test_sync_publishes_every_event_then_does_nothing(library: Path) -> None:
    first = run_sync(library)
    assert first.returncode == 0, first.stderr
    events = by_event(first)
    assert events["spark-2018"]["photos"] == 7 and events["phone"]["photos"] == 3
    assert events["phone"]["uploaded"] == 30 and events["phone"]["manifest_changed"]
    assert (library / "published/phone-export/manifest.json").is_file()
    assert (library / "site/content/stories/spark-2018/index.md").is_file()
    again = by_event(run_sync(library))
    for event in again.values():
        assert (event["decoded"], event["uploaded"], event["manifest_changed"]) == (0, 0, False)
    readme = " ".join((Path(__file__).parent.parent / "README.md").read_text().split())
    line = re.search(r"says what changed \(`(spark-2018: [^`]*)`\)", readme)[1]
    assert line in run_sync(library).stderr.splitlines()  # the README's example, as printed


def test_a_new_photo_is_the_only_one_decoded(library: Path) -> None:
    run_sync(library)
    source = library / "cards/card-a/DCIM/100CANON/IMG_5105.JPG"
    with Image.open(source) as img:  # a new photo: other pixels, the same camera's EXIF
        img.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(
            library / "cards/phone/IMG_20180614_110000.jpg", quality=80, exif=img.info["exif"]
        )
    events = by_event(run_sync(library))
    assert events["spark-2018"]["decoded"] == 0
    assert (events["phone"]["analysed"], events["phone"]["rendered"]) == (1, 1)
    assert events["phone"]["uploaded"] == 10 and events["phone"]["photos"] == 4


def test_a_failed_event_is_listed_and_the_others_run(library: Path) -> None:
    config = library / "gallerypipe.toml"
    config.write_text(config.read_text().replace('["cards/phone"]', '["cards/no-such-card"]'))
    result = run_sync(library)
    assert result.returncode == 1
    events = by_event(result)
    assert events["spark-2018"]["ok"] and events["spark-2018"]["photos"] == 7
    assert not events["phone"]["ok"] and "no usable photos" in events["phone"]["error"]


def test_a_bad_config_is_a_usage_error(library: Path) -> None:
    (library / "gallerypipe.toml").write_text("[store]\nurl = 'published'\n")
    result = run_sync(library)
    assert result.returncode == 2 and "no [[events]]" in result.stderr


def test_a_held_lock_waits_then_exits_3(library: Path) -> None:
    state = (library / ".gallerypipe/state.sqlite").resolve()
    lock = state.parent / f"state-{hashlib.sha256(str(state).encode()).hexdigest()[:16]}.lock"
    with hold_lock(lock, 0):
        started = time.monotonic()
        result = run_sync(library, "--lock-timeout", "1.5")
        waited = time.monotonic() - started
    assert result.returncode == EXIT_LOCKED and "holds" in result.stderr
    assert waited >= 1.5
    assert not (library / "published").exists()
    assert run_sync(library).returncode == 0


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_a_dask_cluster_gives_the_same_bytes_as_a_local_run(cards: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    local = ingest(
        IngestOptions((cards,), tmp_path / "local/b", str(tmp_path / "local/s"), cache=None, jobs=2)
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        remote = ingest(
            IngestOptions(
                (cards,),
                tmp_path / "dask/b",
                str(tmp_path / "dask/s"),
                cache=None,
                executor=f"dask://{address}",
            )
        )
    assert remote.rendered == local.rendered == 10
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")


def test_an_event_failing_on_a_path_says_path_and_reason_as_ingest_does(
    library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (library / "site").mkdir()
    (library / "site/content").write_text("a file where the bundle's folder should be")
    config = library / "gallerypipe.toml"
    config.write_text(CONFIG.split("[[events]]")[0] + "[[events]]" + CONFIG.split("[[events]]")[2])
    monkeypatch.chdir(library)
    result = CliRunner().invoke(main, ["sync", "--json"])
    bundle = library / "site/content/stories/phone"
    line = f"phone: FAILED: {bundle}: Not a directory"
    assert result.exit_code == 1 and result.stderr.splitlines() == [line]
    assert json.loads(result.stdout)["events"][0]["error"] == f"{bundle}: Not a directory"
