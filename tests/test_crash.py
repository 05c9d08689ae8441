"""Kill ingest with SIGKILL at seeded random moments, re-run, and check nothing is inconsistent."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from PIL import Image

from gallerypipe.storage import open_store

TRIALS_LOCAL, TRIALS_S3 = 12, 8


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def command(cards: Path, bundle: Path, store: str, extra: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "gallerypipe", "ingest", str(cards), "--bundle", str(bundle),
        "--store", store, "--sizes", "640,320", "--no-cache", "--json", *extra,
    ]  # fmt: skip


def kill_at(args: list[str], after: float, env: dict) -> None:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    time.sleep(after)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


def assert_visible_files_complete(bundle: Path) -> None:
    """Whatever a reader can see right after the kill is whole: JPEGs decode, index.md parses."""
    for path in bundle.rglob("*.jpg"):
        if not path.name.startswith((".tmp-", ".gp-")):
            with Image.open(path) as img:
                img.load()
    if (bundle / "index.md").exists():
        yaml.safe_load((bundle / "index.md").read_text().split("---\n")[1])


def assert_consistent(bundle: Path, store_url: str, env_store_options) -> None:
    text = (bundle / "index.md").read_text()
    resources = yaml.safe_load(text.split("---\n")[1])["resources"]
    gallery = sorted(r["src"] for r in resources if r["name"].startswith("gallery-"))
    on_disk = sorted(f"gallery/{p.name}" for p in (bundle / "gallery").iterdir())
    assert gallery == on_disk, "front matter and gallery/ disagree"
    assert (bundle / "header.jpg").is_file()
    assert not list(bundle.glob(".tmp-*")) and not list(bundle.glob(".gp-*"))
    store = open_store(store_url, env_store_options)
    raw = store.get("manifest.json")
    assert (bundle / "manifest.json").read_bytes() == raw, "bundle and store manifests differ"
    manifest = json.loads(raw)
    for photo in manifest["photos"]:
        for r in photo["renditions"]:
            assert hashlib.sha256(store.get(r["key"])).hexdigest() == r["sha256"]


def run_trials(cards: Path, tmp_path: Path, store_for, trials: int, seed: int, extra, options):
    shutil.rmtree(cards / "card-b")  # a smaller set keeps 20 trials within the suite's budget
    before = digest(cards)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    full = command(cards, tmp_path / "reference", store_for("reference"), extra)
    started = time.monotonic()
    subprocess.run(full, check=True, capture_output=True, env=env)
    duration = time.monotonic() - started
    rng = random.Random(seed)
    for trial in range(trials):
        bundle, store = tmp_path / f"b{trial}", store_for(f"t{trial}")
        for _ in range(rng.randint(1, 2)):  # sometimes killed twice before the run that finishes
            kill_at(command(cards, bundle, store, extra), rng.uniform(0.05, duration), env)
            assert_visible_files_complete(bundle)
        done = subprocess.run(command(cards, bundle, store, extra), capture_output=True, env=env)
        assert done.returncode == 0, done.stderr
        assert_consistent(bundle, store, options)
    assert digest(cards) == before, "an original changed"


def test_killed_local_ingests_recover(cards: Path, tmp_path: Path) -> None:
    run_trials(
        cards, tmp_path, lambda name: str(tmp_path / "stores" / name), TRIALS_LOCAL, 2018, [], None
    )


def test_killed_s3_publishes_recover(cards: Path, tmp_path: Path, s3_store) -> None:
    url, options = s3_store
    extra = ["--endpoint-url", options.endpoint_url, "--path-style"]
    run_trials(cards, tmp_path, lambda name: f"{url}/{name}", TRIALS_S3, 2026, extra, options)


@pytest.fixture(autouse=True)
def _quiet_boto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONWARNINGS", "ignore")
