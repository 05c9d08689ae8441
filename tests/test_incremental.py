"""Re-running with one more card: only the new photos are decoded; moved copies are known."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gallerypipe.pipeline import IngestOptions, ingest


def run(sources: list[Path], tmp_path: Path, cache: Path | None):
    options = IngestOptions(
        sources=tuple(sources),
        bundle=tmp_path / "bundle",
        store=str(tmp_path / "store"),
        cache=cache,
        jobs=2,
    )
    report = ingest(options)
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    return report, {p["id"]: p["number"] for p in manifest["photos"]}  # id: the sha256's start


def test_one_more_card_adds_only_its_photos_and_moved_copies_are_not_decoded(cards, tmp_path):
    cache = tmp_path / "analysis.sqlite"
    first, numbers = run([cards / "card-a"], tmp_path, cache)
    assert first.analysed == first.found == 5 and first.rendered == 5
    # The photographer reorganises: card-a's files are now under another name and folder.
    moved = cards / "event" / "canon-body"
    moved.parent.mkdir()
    shutil.move(cards / "card-a", moved)
    for jpeg in sorted(moved.rglob("*.JPG")):
        jpeg.rename(jpeg.with_name(f"spark-{jpeg.name}"))
    second, renumbered = run([moved, cards / "phone"], tmp_path, cache)
    assert second.found == 8
    assert second.analysed == 3  # only the phone's photos were decoded
    assert second.rendered == 3  # card-a's renditions are reused from the store
    assert {i: renumbered[i] for i in numbers} == numbers  # the phone's are later
    assert sorted(renumbered.values()) == list(range(1, 9))


def test_without_the_cache_everything_is_decoded_again(cards, tmp_path):
    run([cards / "card-a"], tmp_path, None)
    again, _ = run([cards / "card-a"], tmp_path, None)
    assert again.analysed == 5 and again.rendered == 0


def test_a_new_sidecar_is_seen_on_the_next_run(cards, tmp_path):
    cache = tmp_path / "analysis.sqlite"
    run([cards / "card-a"], tmp_path, cache)
    (cards / "card-a/DCIM/100CANON/IMG_5102.xmp").write_text(
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF"
        " xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description"
        " xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:title><rdf:Alt>"
        "<rdf:li xml:lang='x-default'>Picos de Europa</rdf:li></rdf:Alt></dc:title>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    again, _ = run([cards / "card-a"], tmp_path, cache)
    assert again.analysed == 1
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    names = {s["id"]: Path(s["source"]).name for s in again.sources}  # private: not published
    titles = {names[p["id"]]: p["title"] for p in manifest["photos"]}
    assert titles["IMG_5102.JPG"] == "Picos de Europa"
