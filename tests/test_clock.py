"""Clock offsets per camera, and `gallerypipe cameras` to find them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from photos import CANON, NIKON, analysed, real_photo, write_jpeg

from gallerypipe.clock import ClockOffset, ClockOffsetError, parse_offset, parse_offsets
from gallerypipe.config import command_defaults
from gallerypipe.pipeline import to_photos
from gallerypipe.settings import SettingsError, read_file


@pytest.fixture
def two_bodies(tmp_path: Path) -> Path:
    """The Canon on local time; the Nikon still an hour behind (winter time) on card-b."""
    for minute, scene in ((0, "picos"), (20, "life"), (40, "sunset")):
        write_jpeg(
            tmp_path / "card-a" / f"IMG_{minute:04d}.JPG",
            real_photo(scene, 320),
            **CANON,
            taken=f"2018:06:14 10:{minute:02d}:00",
        )
    for minute, scene in ((10, "fig"), (30, "kleiber")):
        write_jpeg(
            tmp_path / "card-b" / f"DSC_{minute:04d}.JPG",
            real_photo(scene, 320),
            **NIKON,
            taken=f"2018:06:14 09:{minute:02d}:00",
        )
    return tmp_path


def order(folder: Path, *specs: str) -> list[str]:
    photos = to_photos(analysed([folder]), parse_offsets(specs))
    return [p.source.path.name for p in photos]


CORRECT = ["IMG_0000.JPG", "DSC_0010.JPG", "IMG_0020.JPG", "DSC_0030.JPG", "IMG_0040.JPG"]


def test_without_an_offset_the_slow_body_comes_first(two_bodies):
    assert order(two_bodies)[:2] == ["DSC_0010.JPG", "DSC_0030.JPG"]


@pytest.mark.parametrize(
    "camera",
    ["NIKON D750", "nikon corporation", "NIKON CORPORATION NIKON D750", "6004321", "card-b"],
)
def test_offset_by_model_make_serial_or_folder_restores_the_order(two_bodies, camera):
    assert order(two_bodies, f"{camera}=+3600") == CORRECT


def test_offset_by_folder_path_as_given(two_bodies):
    assert order(two_bodies, f"{two_bodies / 'card-b'}=3600") == CORRECT


def test_offset_shifts_only_the_matching_camera(two_bodies):
    photos = to_photos(analysed([two_bodies]), parse_offsets(["Canon EOS 5D Mark III=-90.5"]))
    plain = {p.source.path.name: p.taken for p in to_photos(analysed([two_bodies]))}
    for photo in photos:
        shift = photo.taken - plain[photo.source.path.name]
        expected = timedelta(seconds=-90.5) if photo.meta.make == "Canon" else timedelta(0)
        assert shift == expected, photo.source.path.name


@pytest.mark.parametrize("spec", ["NIKON", "=60", "NIKON=ten", "NIKON=+1h"])
def test_bad_offset_is_refused_with_the_spec(spec):
    with pytest.raises(ClockOffsetError, match="CAMERA=±SECONDS"):
        parse_offset(spec)


def test_config_clock_offsets_reach_ingest_header_and_cameras():
    config = {
        "clock_offsets": {"NIKON D750": 3600},
        "ingest": {"clock_offset": ["card-c=-60"], "threshold": 6},
    }
    params = {"ingest": {"clock_offsets", "threshold"}, "header": {"clock_offsets"}}
    defaults = command_defaults(read_file(config, Path()), {**params, "cameras": {"clock_offsets"}})
    wanted = (ClockOffset("NIKON D750", 3600), ClockOffset("card-c", -60))
    for command in ("ingest", "header", "cameras"):
        assert defaults[command]["clock_offsets"] == wanted
    assert defaults["ingest"]["threshold"] == 6 and "threshold" not in defaults["cameras"]
    with pytest.raises(SettingsError, match="NIKON"):
        read_file({"clock_offsets": {"NIKON": "an hour"}}, Path())


def run_cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gallerypipe", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(Path(__file__).resolve().parent.parent), "PATH": ""},
    )


def test_cameras_json_lists_each_body_with_its_span(two_bodies, tmp_path):
    (two_bodies / "card-b" / "DSC_9999.JPG").write_bytes(
        (two_bodies / "card-b" / "DSC_0010.JPG").read_bytes()[:2]
        + b"\xff\xfe\x00\x04hi"
        + (two_bodies / "card-b" / "DSC_0010.JPG").read_bytes()[2:]
    )  # same pixels, not byte-identical: counted as a photo of the Nikon
    write_jpeg(two_bodies / "phone" / "export.jpg", real_photo("wine", 200))  # no EXIF
    (tmp_path / "gallerypipe.toml").write_text('[clock_offsets]\n"6004321" = 3600\n')
    result = run_cli("cameras", two_bodies, "--json", "--no-cache", "--jobs", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    cameras = {c["model"]: c for c in json.loads(result.stdout)["cameras"]}
    nikon, canon, unknown = cameras["NIKON D750"], cameras["Canon EOS 5D Mark III"], cameras[None]
    assert nikon["serial"] == "6004321" and nikon["photos"] == 3
    assert nikon["folders"] == [str(two_bodies / "card-b")]
    assert nikon["first"].startswith("2018-06-14T10:10:00")  # offset from the config file
    assert nikon["last"].startswith("2018-06-14T10:30:00") and nikon["clock_offset"] == 3600
    assert canon["photos"] == 3 and canon["without_time"] == 0
    assert canon["first"].startswith("2018-06-14T10:00:00")
    assert canon["last"].startswith("2018-06-14T10:40:00")
    assert unknown["photos"] == 1 and unknown["without_time"] == 1 and unknown["first"] is None
    text = run_cli("cameras", two_bodies, "--no-cache", "--jobs", "1", cwd=tmp_path).stdout
    assert "NIKON CORPORATION NIKON D750 serial 6004321: 3 photos" in text


def test_bad_clock_offset_on_the_command_line_is_a_usage_error(two_bodies, tmp_path):
    result = run_cli(
        "ingest",
        two_bodies,
        "--bundle",
        tmp_path / "b",
        "--clock-offset",
        "NIKON=soon",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "NIKON=soon" in result.stderr and not (tmp_path / "b").exists()
