"""File names as found on disk, which need not be UTF-8 (old cameras, copies from Windows).

Python keeps such bytes as lone surrogates ("caf\\udce9.jpg"), which cannot be printed, written as
UTF-8 JSON or stored in SQLite text. Reports show them escaped (`caf\\xe9.jpg`); where the exact
name matters, its bytes are kept too.
"""

from __future__ import annotations

import os


def readable(name: str) -> str:
    """The name as printable UTF-8 text: bytes that are not UTF-8 shown as `\\xe9`."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def is_text(name: str) -> bool:
    """True when the name is valid UTF-8 as it stands."""
    return readable(name) == name


def name_bytes_hex(name: str) -> str:
    """The name's bytes on disk, in hex: lossless where readable() is not."""
    return os.fsencode(name).hex()
