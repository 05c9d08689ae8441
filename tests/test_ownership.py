"""Never lose a photographer's work (#12): what gallerypipe owns in a bundle and what it leaves.

Real JPEG cards (the bundled samples), the real CLI; small renditions to keep the runs fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from photos import shrink_cards

from gallerypipe.bundle import BundleConflict
from gallerypipe.cli import main
from gallerypipe.ownership import STATE_FILE
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.renditions import RenderSettings

SMALL = RenderSettings(sizes=(640, 320), formats=("jpeg",))
SMALL_ARGS = ("--sizes", "640,320", "--formats", "jpeg")
SEED_INDEX = (
    "---\ntitle: Spark 2018\nresources:\n- src: gallery/IMG_5107.jpg\n  name: header\n"
    '---\nThe evening\'s photos.\n\n{{< gallery folder="gallery" >}}\n'
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache") / "analysis.sqlite"


def run(cards: Path | tuple[Path, ...], bundle: Path, store: Path, cache: Path, **kw):
    sources = cards if isinstance(cards, tuple) else (cards,)
    options = IngestOptions(sources, bundle, str(store), cache=cache, render=SMALL, jobs=2, **kw)
    return ingest(options)


def tree(root: Path) -> dict[str, str]:
    """Every file under root (dot-files too) → sha256."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def resources(bundle: Path) -> list[dict]:
    return yaml.safe_load((bundle / "index.md").read_text().split("---\n")[1])["resources"]


def seed_bundle(bundle: Path, cards: Path) -> dict[str, bytes]:
    """The seed page's layout: the user's own photos in gallery/, one named as the header."""
    mine = {
        "gallery/IMG_5107.jpg": (cards / "card-a/DCIM/100CANON/IMG_5101.JPG").read_bytes(),
        "gallery/IMG_5108.jpg": (cards / "card-b/DCIM/100NIKON/DSC_0042.JPG").read_bytes(),
    }
    for rel, data in mine.items():
        (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
        (bundle / rel).write_bytes(data)
    (bundle / "index.md").write_text(SEED_INDEX)
    return mine


def assert_kept(bundle: Path, mine: dict[str, bytes]) -> None:
    for rel, data in mine.items():
        assert (bundle / rel).read_bytes() == data, f"{rel} was changed"


def test_the_users_gallery_photos_and_header_are_kept_byte_for_byte(
    cards: Path, tmp_path: Path, cache: Path
) -> None:
    bundle, store = tmp_path / "spark-2018", tmp_path / "store"
    mine = seed_bundle(bundle, cards)

    report = run(cards, bundle, store, cache)
    assert_kept(bundle, mine)
    entries = resources(bundle)
    assert {"src": "gallery/IMG_5107.jpg", "name": "header"} in entries
    assert [e["name"] for e in entries].count("header") == 1
    assert not (bundle / "header.jpg").exists(), "the user's header is used, not a copy of ours"
    assert report.header == "gallery/IMG_5107.jpg"
    kept = {(k["path"], k["reason"].split(":")[0]) for k in report.to_json()["kept"]}
    assert ("gallery/IMG_5107.jpg", "your header (front matter)") in kept
    assert ("gallery/IMG_5108.jpg", "not written by gallerypipe") in kept
    assert json.loads((bundle / "manifest.json").read_bytes())["header"] is None
    assert len(list((bundle / "gallery").glob("2018*.jpg"))) == 10

    # a photo fewer (card-b removed): ours are renumbered or removed, the user's stay
    run(cards / "card-a", bundle, store, cache)
    assert_kept(bundle, mine)
    assert sorted(p.name for p in (bundle / "gallery").iterdir() if not p.name[0].isdigit()) == [
        "IMG_5107.jpg",
        "IMG_5108.jpg",
    ]

    # --header auto: gallerypipe's pick over the user's entry; the user's files still kept
    report = run(cards, bundle, store, cache, header=Path("auto"))
    assert_kept(bundle, mine)
    entries = resources(bundle)
    assert entries[0]["src"] == "header.jpg" and entries[0]["name"] == "header"
    assert [e["name"] for e in entries].count("header") == 1
    assert report.header.endswith("IMG_5104.JPG")


def test_json_names_the_users_files_and_what_the_site_does(cards: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    seed_bundle(bundle, cards)
    before = tree(bundle)
    result = CliRunner().invoke(
        main,
        [
            "ingest",
            str(cards),
            "--bundle",
            str(bundle),
            "--store",
            str(tmp_path / "s"),
            *SMALL_ARGS,
            "--dry-run",
            "--json",
            "--no-cache",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert tree(bundle) == before, "a dry run changes nothing"
    assert not (tmp_path / "s").exists()
    assert len(out["bundle_files"]["added"]) == 11  # ten gallery files and manifest.json
    assert "gallery/20180614-090211-img_5101.jpg" in out["bundle_files"]["added"]
    reasons = {k["path"]: k["reason"] for k in out["kept"] if "not written" in k["reason"]}
    assert set(reasons) == {"gallery/IMG_5107.jpg", "gallery/IMG_5108.jpg"}
    assert all("shows it in the gallery" in r for r in reasons.values())


def test_a_name_collision_is_an_error_before_anything_changes(
    cards: Path, tmp_path: Path, cache: Path
) -> None:
    bundle, store = tmp_path / "b", tmp_path / "store"
    (bundle / "gallery").mkdir(parents=True)
    (bundle / "gallery/20180614-090211-img_5101.jpg").write_bytes(b"the user's own file")
    before = tree(bundle)
    with pytest.raises(
        BundleConflict, match=r"gallery/20180614-090211-img_5101\.jpg.*nothing was changed"
    ):
        run(cards, bundle, store, cache)
    assert tree(bundle) == before
    assert not store.exists(), "the store is not written either"


def test_an_edited_file_and_a_users_title_are_kept(
    cards: Path, tmp_path: Path, cache: Path
) -> None:
    bundle, store = tmp_path / "b", tmp_path / "store"
    run(cards, bundle, store, cache)
    edited = bundle / "gallery/20180614-090652-dsc_0042.jpg"
    retouched = edited.read_bytes()[:-2] + b"\x00\xff\xd9"  # changed by hand
    edited.write_bytes(retouched)
    index = bundle / "index.md"
    index.write_text(index.read_text().replace("B, 2018-06-14 09:10", "Rain over the Aitzgorri"))

    report = run(cards, bundle, store, cache)
    assert edited.read_bytes() == retouched
    entries = {e["src"]: e for e in resources(bundle)}
    assert entries["gallery/20180614-091037-img_5102.jpg"]["title"] == "Rain over the Aitzgorri"
    manifest = json.loads((bundle / "manifest.json").read_bytes())
    assert manifest["photos"][2]["title"] == "Rain over the Aitzgorri"
    reasons = {k.path: k.reason for k in report.kept}
    assert "edited since gallerypipe wrote it" in reasons["gallery/20180614-090652-dsc_0042.jpg"]

    # without card-b the edited file is no longer wanted: kept (now the user's), not removed
    report = run(cards / "card-a", bundle, store, cache)
    assert edited.read_bytes() == retouched
    assert "gallery/20180614-090652-dsc_0042.jpg" not in report.bundle_plan.remove


def test_a_bundle_written_before_the_record_is_taken_over_safely(
    cards: Path, tmp_path: Path, cache: Path
) -> None:
    """No .gallerypipe.json (an older gallerypipe): its files are known from manifest.json."""
    bundle, store = tmp_path / "b", tmp_path / "store"
    run(cards, bundle, store, cache)
    (bundle / STATE_FILE).unlink()
    mine = {"gallery/IMG_5107.jpg": b"\xff\xd8\xff\xe0 the user's photo"}
    (bundle / "gallery/IMG_5107.jpg").write_bytes(mine["gallery/IMG_5107.jpg"])

    report = run(cards / "card-a", bundle, store, cache)  # fewer photos: renumbered
    assert_kept(bundle, mine)
    ours = sorted(p.name for p in (bundle / "gallery").iterdir() if p.name[0].isdigit())
    assert ours == [Path(e["src"]).name for e in resources(bundle) if e["name"] != "header"]
    assert report.bundle_plan.remove, "the old numbered files were known as ours and removed"
    assert (bundle / STATE_FILE).is_file()


# --- overlapping paths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout",
    [
        "bundle inside SRC",
        "store inside SRC",
        "SRC inside bundle",
        "SRC inside store",
        "SRC is bundle",
        "SRC is store",
    ],
)
def test_overlapping_paths_are_refused_before_anything_is_read_or_written(
    layout: str, tmp_path: Path
) -> None:
    root = tmp_path / "work"
    shutil.copytree(Path(__file__).parent.parent / "sample_photos/card-a", root / "cards")
    src, bundle, store = root / "cards", root / "bundle", root / "store"
    if layout == "bundle inside SRC":
        bundle = src / "site/b"
    elif layout == "store inside SRC":
        store = src / "published"
    elif layout == "SRC inside bundle":
        bundle, src = root / "cards", root / "cards/DCIM"
    elif layout == "SRC inside store":
        store, src = root / "cards", root / "cards/DCIM/100CANON"
    elif layout == "SRC is bundle":
        bundle = src
    else:
        store = src
    before = tree(root)
    result = CliRunner().invoke(
        main,
        [
            "ingest",
            str(src),
            "--bundle",
            str(bundle),
            "--store",
            str(store),
            "--json",
            "--cache",
            str(tmp_path / "cache.sqlite"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "refused, nothing was read or written" in json.loads(result.stdout)["error"]
    assert tree(root) == before
    assert not (tmp_path / "cache.sqlite").exists(), "not even the cards were read"


# --- modes and no-op runs -------------------------------------------------------------------


def run_cli(*args: str | Path, umask: int = 0o022, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-m", "gallerypipe", "ingest", *map(str, args), *SMALL_ARGS],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(umask),
        env=env,
    )


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_new_files_follow_the_umask_and_existing_ones_keep_their_mode(
    umask: int, cards: Path, tmp_path: Path
) -> None:
    bundle, store = tmp_path / "b", tmp_path / "store"
    bundle.mkdir()
    (bundle / "index.md").write_text("---\ntitle: Spark 2018\n---\n")
    os.chmod(bundle / "index.md", 0o640)
    result = run_cli(
        cards / "card-a", "--bundle", bundle, "--store", store, "--no-cache", umask=umask
    )
    assert result.returncode == 0, result.stderr
    want = 0o666 & ~umask
    files = [p for root in (bundle, store) for p in root.rglob("*") if p.is_file()]
    modes = {p.relative_to(tmp_path).as_posix(): p.stat().st_mode & 0o777 for p in files}
    assert modes.pop("b/index.md") == 0o640, "an existing file keeps its mode"
    assert set(modes.values()) == {want}, modes
    assert len(modes) > 10


def mtimes(*roots: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for root in roots for p in [root, *root.rglob("*")]}


def test_a_run_that_changes_nothing_writes_nothing(cards: Path, tmp_path: Path) -> None:
    bundle, store = tmp_path / "b", tmp_path / "store"
    args = (cards, "--bundle", bundle, "--store", store, "--cache", tmp_path / "c.sqlite")
    assert run_cli(*args).returncode == 0
    before = mtimes(bundle, store)
    result = run_cli(*args, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["uploaded"] == 0 and out["manifest_changed"] is False
    assert out["bundle_files"] == {"added": [], "replaced": [], "removed": [], "unchanged": 12}
    assert mtimes(bundle, store) == before, "every file and folder keeps its mtime"


# --- any file name --------------------------------------------------------------------------


def test_names_that_are_not_utf8_and_250_byte_names_are_published(
    tmp_path: Path,
) -> None:
    samples = Path(__file__).parent.parent / "sample_photos/card-a/DCIM/100CANON"
    card = os.fsencode(tmp_path / "card")
    os.mkdir(card)
    latin1 = os.path.join(card, b"caf\xe9.jpg")
    long_name = os.path.join(card, b"a" * 246 + b".jpg")  # 250 bytes
    shutil.copyfile(samples / "IMG_5101.JPG", latin1)
    shutil.copyfile(samples / "IMG_5102.JPG", long_name)
    bundle, store = tmp_path / "b", tmp_path / "store"
    originals = tree(Path(os.fsdecode(card)))
    args = (os.fsdecode(card), "--bundle", bundle, "--store", store, "--json")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}  # the cache by path, too
    for _ in range(2):
        result = run_cli(*args, env=env)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["photos"] == 2 and out["skipped"] == []
    sources = {s["source"]: s.get("source_bytes") for s in out["sources"]}  # --json only
    assert sources["card/caf\\xe9.jpg"] == b"card/caf\xe9.jpg".hex(), "kept losslessly"
    assert sources["card/" + "a" * 246 + ".jpg"] is None
    names = sorted(p.name for p in (bundle / "gallery").iterdir())
    assert len(names) == 2 and all(len(os.fsencode(n)) <= 255 for n in names)
    assert any(n.endswith("-caf.jpg") for n in names)
    assert not [p for p in tmp_path.rglob(".gp-*")], "no temporary file left"
    assert tree(Path(os.fsdecode(card))) == originals, "the originals are untouched"


# --- two runs at once -----------------------------------------------------------------------

TRIALS = 10  # as the issue asks: two identical ingests at once, ten times


def test_two_identical_ingests_at_once_both_end_cleanly(cards: Path, tmp_path: Path) -> None:
    shrink_cards(cards / "card-a")  # the photos' size is not the point: the race is
    for trial in range(TRIALS):
        bundle, store = tmp_path / f"b{trial}", tmp_path / f"s{trial}"
        args = [sys.executable, "-m", "gallerypipe", "ingest", str(cards / "card-a")]
        args += ["--bundle", str(bundle), "--store", str(store), "--no-cache", "--json"]
        args += [*SMALL_ARGS, "--jobs", "1"]
        procs = [
            subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outcomes = [(p.wait(timeout=300), *p.communicate()) for p in procs]
        for code, _out, err in outcomes:
            assert code in (0, 1), err
            assert "Traceback" not in err
        assert any(code == 0 for code, _, _ in outcomes)
        assert_consistent(bundle, store)


def assert_consistent(bundle: Path, store: Path) -> None:
    entries = resources(bundle)
    gallery = sorted(e["src"] for e in entries if e["name"].startswith("gallery-"))
    assert gallery == sorted(f"gallery/{p.name}" for p in (bundle / "gallery").iterdir())
    assert (bundle / "manifest.json").read_bytes() == (store / "manifest.json").read_bytes()
    manifest = json.loads((store / "manifest.json").read_bytes())
    for photo in manifest["photos"]:
        for r in photo["renditions"]:
            data = (store / r["key"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == r["sha256"]
    assert not list(bundle.glob(".gp-*")) and not list(store.rglob(".gp-*"))
