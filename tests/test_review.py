"""`gallerypipe dedup`: each photo reported once, with reasons; a contact sheet; nothing written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from photos import CANON, NIKON, real_photo, write_jpeg, write_text_as_jpg, write_truncated_jpeg
from PIL import Image


@pytest.fixture(scope="module")
def card(tmp_path_factory) -> Path:
    """One of every kind: exact, near, rotated, burst, two moments, unique, unusable."""
    root = tmp_path_factory.mktemp("cards")
    scene = real_photo("life", 900)
    moved = scene.copy()
    moved.paste(real_photo("sunset", (135, 90)), (495, 300))  # someone walked in
    later = scene.copy()
    later.paste(real_photo("fig", (135, 90)), (100, 80))  # and someone else, later
    dcim = root / "card" / "DCIM" / "100CANON"
    write_jpeg(dcim / "IMG_0001.JPG", scene, **CANON, taken="2018:06:14 09:00:00", subsec="10")
    write_jpeg(dcim / "IMG_0002.JPG", moved, **CANON, taken="2018:06:14 09:00:01", subsec="10")
    write_jpeg(dcim / "IMG_0003.JPG", later, **CANON, taken="2018:06:14 09:01:30")
    write_jpeg(
        dcim / "IMG_0004.JPG", real_photo("picos", 900), **CANON, taken="2018:06:14 09:05:00"
    )
    backup = root / "backup" / "IMG_0004.JPG"
    backup.parent.mkdir()
    shutil.copyfile(dcim / "IMG_0004.JPG", backup)
    fig = real_photo("fig", 900)
    write_jpeg(root / "card2" / "DSC_0043.JPG", fig, **NIKON, taken="2018:06:14 09:07:00")
    write_jpeg(root / "exports" / "fig-web.jpg", fig.resize((600, 406)), quality=75)
    write_jpeg(root / "exports" / "fig-turned.jpg", fig.transpose(Image.Transpose.ROTATE_270))
    write_jpeg(root / "card2" / "DSC_0050.JPG", real_photo("kleiber", 900), **NIKON)
    write_truncated_jpeg(root / "card2" / "DSC_0051.JPG")
    write_text_as_jpg(root / "card2" / "notes.jpg")
    return root


def run_dedup(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    checkout = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),
        "XDG_CACHE_HOME": str(cwd.parent / f"{cwd.name}-cache"),
    }
    return subprocess.run(
        [sys.executable, "-m", "gallerypipe", "dedup", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_json_reports_every_photo_once_with_its_reason(card):
    before = listing(card)
    done = run_dedup(card, "card", "card2", "backup", "exports", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # exactly one JSON object
    assert listing(card) == before  # nothing written
    seen = [g["keep"] for g in report["groups"]]
    seen += [d["path"] for g in report["groups"] for d in g["duplicates"]]
    seen += report["unique"]
    decodable = [p for p in before if p.endswith((".JPG", ".jpg"))]
    decodable = [p for p in decodable if not p.endswith(("DSC_0051.JPG", "notes.jpg"))]
    assert sorted(seen) == sorted(decodable)  # each once, as found under the SRC arguments
    assert {s["path"] for s in report["skipped"]} == {"card2/DSC_0051.JPG", "card2/notes.jpg"}
    reasons = {
        d["path"]: (g["keep"], d["reason"]) for g in report["groups"] for d in g["duplicates"]
    }
    assert reasons == {
        "card/DCIM/100CANON/IMG_0002.JPG": ("card/DCIM/100CANON/IMG_0001.JPG", "burst"),
        "card/DCIM/100CANON/IMG_0004.JPG": ("backup/IMG_0004.JPG", "exact"),
        "exports/fig-web.jpg": ("card2/DSC_0043.JPG", "near"),
        "exports/fig-turned.jpg": ("card2/DSC_0043.JPG", "rotated"),
    } or reasons == {
        "card/DCIM/100CANON/IMG_0001.JPG": ("card/DCIM/100CANON/IMG_0002.JPG", "burst"),
        "card/DCIM/100CANON/IMG_0004.JPG": ("backup/IMG_0004.JPG", "exact"),
        "exports/fig-web.jpg": ("card2/DSC_0043.JPG", "near"),
        "exports/fig-turned.jpg": ("card2/DSC_0043.JPG", "rotated"),
    }
    # the later moment stays, though its hash is as close as the burst frame's, and says why
    assert "card/DCIM/100CANON/IMG_0003.JPG" in report["unique"]
    later = [s for s in report["similar_kept"] if "card/DCIM/100CANON/IMG_0003.JPG" in s["paths"]]
    assert later and all(
        s["reason"].startswith("different exposures: one camera") for s in later
    ), later
    assert report["excluded"] == []
    assert all(g["why_kept"] for g in report["groups"])


def test_contact_sheet_is_self_contained(card, tmp_path):
    sheet = tmp_path / "sheet.html"
    done = run_dedup(card, "card", "card2", "backup", "exports", "--html", str(sheet))
    assert done.returncode == 0, done.stderr
    page = sheet.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["'](?!data:)""", page)  # nothing to fetch
    images = re.findall(r'src="data:image/jpeg;base64,[A-Za-z0-9+/=]+"', page)
    similar = page.count("similar, kept</figcaption>")
    assert similar >= 1  # the later moment, close to the burst
    assert len(images) == 7 + 2 * similar  # the groups: a burst of 2, an exact copy, 3 of the fig
    assert "Similar, kept" in page and "different exposures: one camera" in page
    assert page.count('class="keep"') == 3
    assert page.count('class="strip"') == 1  # the burst
    assert "rotated, distance" in page
    assert "DSC_0051.JPG" in page  # skipped files are listed


def test_no_photos_is_an_error(tmp_path):
    write_text_as_jpg(tmp_path / "notes.jpg")
    done = run_dedup(tmp_path, ".", "--json")
    assert done.returncode == 1
    assert "no usable photos" in json.loads(done.stdout)["error"]
