"""Kill ingest with SIGKILL in each stage of a run, re-run, and check nothing is inconsistent.

Each kill waits for its stage to begin, seen from outside the run (its worker pools, the files it
stages, the bundle changing), then for a seeded delay: every stage is hit in every trial set,
and no kill is spent in the interpreter's start-up.
"""

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
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from photos import shrink_cards
from PIL import Image

from gallerypipe.cli import main
from gallerypipe.storage import open_store

STAGES = ("analysis", "render", "upload", "manifest", "bundle")
# how long after its stage began a kill may come (the bundle is written in a few ms)
DELAYS = {"analysis": 0.15, "render": 0.15, "upload": 0.3, "manifest": 0.01, "bundle": 0.005}
# one trial per stage, then one killed twice: in the upload, then while placing the photos
TRIALS = [*((stage,) for stage in STAGES), ("upload", "bundle")]
ATTEMPTS = 4  # runs per trial before a stage never reached is a failure


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def arguments(cards: Path, bundle: Path, store: str, extra: list[str]) -> list[str]:
    return [
        "ingest", str(cards), "--bundle", str(bundle), "--store", store,
        "--sizes", "480,320", "--formats", "jpeg", "--no-cache", "--json", *extra,
    ]  # fmt: skip


def children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def snapshot(bundle: Path) -> dict[str, int]:
    try:
        return {p.name: p.stat().st_ino for p in bundle.iterdir() if not p.name.startswith(".gp-")}
    except OSError:
        return {}


class Watch:
    """Which stage a run has reached: analysis (its first pool's workers are up), render (a
    second pool's), upload (a render is staged in its TMPDIR as its objects go to the store),
    manifest (the bundle's folder changed: the store's manifest is written, the bundle's record
    follows), bundle (a photo was placed in gallery/: the record is not final yet)."""

    def __init__(self, proc: subprocess.Popen, tmpdir: Path, bundle: Path) -> None:
        self.proc, self.tmpdir, self.bundle = proc, tmpdir, bundle
        self.before = (snapshot(bundle), snapshot(bundle / "gallery"))
        self.pools: list[set[int]] = []

    def reached(self, stage: str) -> bool:
        workers = children(self.proc.pid)
        if workers and (not self.pools or not workers & self.pools[-1]):
            self.pools.append(workers)
        if stage == "manifest":
            return snapshot(self.bundle) != self.before[0]
        if stage == "bundle":
            return snapshot(self.bundle / "gallery") != self.before[1]
        if stage == "upload":
            return any(self.tmpdir.glob("gallerypipe-*/*"))
        return len(self.pools) >= STAGES.index(stage) + 1


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            return True
        time.sleep(0.002)
    return False


def kill_in(stage: str, delay: float, args: list[str], env: dict, tmpdir: Path) -> bool:
    """Start a run and SIGKILL it once it reached stage (plus delay); False when the run ended
    before the watch saw the stage (the bundle is written in a few ms: a poll can miss it)."""
    tmpdir.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gallerypipe", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**env, "TMPDIR": str(tmpdir)},
    )
    watch = Watch(proc, tmpdir, Path(args[args.index("--bundle") + 1]))
    try:
        landed = wait_for(lambda: watch.reached(stage), proc)
        time.sleep(delay if landed else 0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return landed


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
    assert len(gallery) == 8
    assert (bundle / "header.jpg").is_file()
    assert not list(bundle.glob(".tmp-*")) and not list(bundle.glob(".gp-*"))
    store = open_store(store_url, env_store_options)
    raw = store.get("manifest.json")
    assert (bundle / "manifest.json").read_bytes() == raw, "bundle and store manifests differ"
    manifest = json.loads(raw)
    for photo in manifest["photos"]:
        for r in photo["renditions"]:
            assert hashlib.sha256(store.get(r["key"])).hexdigest() == r["sha256"]


def run_trials(cards: Path, tmp_path: Path, store_for, seed: int, extra, options):
    shutil.rmtree(cards / "card-b")  # eight photos: every stage takes long enough to be hit
    shrink_cards(cards)  # the photos' size is not the point here
    before = digest(cards)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    rng = random.Random(seed)
    for trial, stages in enumerate(TRIALS):
        for attempt in range(ATTEMPTS):  # a fresh bundle and store until every kill lands
            name = f"t{trial}-{attempt}"
            bundle, store = tmp_path / name, store_for(name)
            args = arguments(cards, bundle, store, extra)
            if all(kill(stage, rng, args, env, tmp_path / f"tmp{name}-{n}", bundle)
                   for n, stage in enumerate(stages)):  # fmt: skip
                break
        else:
            raise AssertionError(f"{ATTEMPTS} runs ended before a kill in {stages} landed")
        done = CliRunner().invoke(main, args)  # the run that finishes: in-process
        assert done.exit_code == 0, f"after a kill in {stages}: {done.output}"
        assert_consistent(bundle, store, options)
    assert digest(cards) == before, "an original changed"


def kill(stage: str, rng: random.Random, args: list[str], env: dict, tmp: Path, bundle: Path):
    """One seeded kill in stage; whether it landed. What a kill leaves is always checked."""
    landed = kill_in(stage, rng.uniform(0, DELAYS[stage]), args, env, tmp)
    assert_visible_files_complete(bundle)
    return landed


def test_killed_local_ingests_recover(cards: Path, tmp_path: Path) -> None:
    run_trials(cards, tmp_path, lambda name: str(tmp_path / "stores" / name), 2018, [], None)


def test_killed_s3_publishes_recover(cards: Path, tmp_path: Path, s3_store) -> None:
    url, options = s3_store
    extra = ["--endpoint-url", options.endpoint_url, "--path-style"]
    run_trials(cards, tmp_path, lambda name: f"{url}/{name}", 2026, extra, options)


@pytest.fixture(autouse=True)
def _quiet_boto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONWARNINGS", "ignore")
