"""Names and text from the cards reach the terminal escaped; every warning names its file."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from gallerypipe.cli import main
from gallerypipe.failures import terminal_safe

ESCAPE = "\x1b[31m"  # would turn the terminal red
HOSTILE_NAME = f"IMG{ESCAPE}\x9b2J\u202eevil.jpg"  # ANSI, a C1 CSI, a right-to-left override


def jpeg(colour: str, before_sos: bytes = b"") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 64), colour).save(out, "JPEG")
    data = out.getvalue()
    return data[:2] + before_sos + data[2:]


def malformed_mpo() -> bytes:
    """An APP2 MPF segment whose header is not TIFF: Pillow warns "malformed MPO"."""
    payload = b"MPF\x00" + b"XX*\x00" + bytes(8)
    return jpeg("blue", b"\xff\xe2" + struct.pack(">H", len(payload) + 2) + payload)


def test_control_characters_in_names_are_escaped(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / HOSTILE_NAME).write_bytes(jpeg("red"))
    args = ["ingest", str(cards), "--bundle", str(tmp_path / "b"), "--store", str(tmp_path / "s"),
            "--sizes", "320", "--jobs", "1", "--no-cache"]  # fmt: skip
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0, text.output
    assert "\\u001b[31m" in text.output and "\\u009b2J" in text.output and "\\u202e" in text.output
    assert not any(c in text.output for c in "\x1b\x9b\u202e")
    as_json = CliRunner().invoke(main, [*args, "--json"])
    assert not any(c in as_json.output for c in "\x1b\x9b\u202e")
    assert json.loads(as_json.output)["header"].endswith(HOSTILE_NAME), "JSON keeps the name"


def test_terminal_safe_keeps_line_breaks_and_plain_text() -> None:
    assert terminal_safe("a\nb é 漢") == "a\nb é 漢"
    assert terminal_safe("a\tb\x00\x7f") == "a\\u0009b\\u0000\\u007f"


def test_pillow_warnings_name_their_file(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "mpo.jpg").write_bytes(malformed_mpo())
    (cards / "fine.jpg").write_bytes(jpeg("green"))
    result = subprocess.run(
        [sys.executable, "-m", "gallerypipe", "ingest", str(cards), "--bundle", str(tmp_path / "b"),
         "--store", str(tmp_path / "s"), "--sizes", "320", "--jobs", "2", "--no-cache", "--json"],
        capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "default"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, "a warning reached stderr without its file"
    warnings = json.loads(result.stdout)["warnings"]  # the photo is published: a warning
    named = [p["path"] for p in warnings if "malformed MPO" in p["reason"]]
    assert named == [str(cards / "mpo.jpg")]
