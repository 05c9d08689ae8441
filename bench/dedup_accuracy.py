"""Pairwise precision, recall and F1 of gallerypipe's dedup and of imagededup's PHash.

    python bench/dedup_accuracy.py CORPUS [--imagededup-python /tmp/idd/bin/python]

CORPUS (one or more) is made by bench/make_corpus.py (truth.json inside). gallerypipe runs as
`gallerypipe dedup` does, through ingest's selection (default options, no cache); besides pairwise
scores it reports the moment sets merged (one scene's moments found in one group: goal 0) and the
rejected photos published (a group whose original is rated -1 with a file published: goal 0).
A pair is two files of one group; gallerypipe's pairs are all pairs within each group it forms,
imagededup's are the pairs it lists (PHash, its default max_distance_threshold of 10).
imagededup runs in its own venv, as it imports torchvision; give its python, or it is left out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package

from gallerypipe.pipeline import IngestOptions
from gallerypipe.review import Review, review

IMAGEDEDUP = """
import json, sys
from imagededup.methods import PHash
found = PHash(verbose=False).find_duplicates(image_dir=sys.argv[1], recursive=True)
print(json.dumps(found))
"""


def truth_pairs(groups: dict[str, str]) -> set[frozenset[str]]:
    by_group: dict[str, list[str]] = {}
    for path, group in groups.items():
        by_group.setdefault(group, []).append(path)
    return {frozenset(p) for members in by_group.values() for p in combinations(members, 2)}


def gallerypipe_review(corpus: Path) -> Review:
    """What `gallerypipe dedup CORPUS --no-cache` finds (ingest's selection, default options)."""
    return review(IngestOptions(sources=(corpus,), bundle=Path(), cache=None))


def groups_of(result: Review, corpus: Path) -> list[list[str]]:
    """gallerypipe's groups of two or more files, by their paths relative to the corpus."""
    groups = []
    for group in result.dedup.groups:
        members = [group.keep, *(d.photo for d in group.duplicates)]
        groups.append([str(p.source.path.relative_to(corpus)) for p in members])
    return groups


def rejected_published(result: Review, corpus: Path, truth: dict) -> tuple[int, int]:
    """(rejected photos with a file published, rejected photos): a photo is a truth group
    whose camera original is rated -1 (its copies carry no metadata)."""
    rejected = {g for g, rating in truth.get("ratings", {}).items() if rating == -1}
    published = {
        truth["groups"].get(str(p.source.path.relative_to(corpus)))
        for p in result.dedup.kept
        if not result.left_out(p)
    }
    return len(rejected & published), len(rejected)


def pairs_of(groups: list[list[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for names in groups for p in combinations(names, 2)}


def moment_sets_merged(groups: list[list[str]], truth: dict[str, str]) -> tuple[int, int]:
    """(moment sets merged, moment sets): a set is one scene's moments (the truth groups
    scene07, scene07-moment0-person, ...); it is merged when one found group holds two of them."""
    merged = set()
    for names in groups:
        found = {truth[n] for n in names}
        scenes = [g.split("-")[0] for g in found]
        merged |= {s for s in scenes if scenes.count(s) > 1}
    return len(merged), len({g.split("-")[0] for g in truth.values()})


def imagededup_pairs(corpus: Path, python: str) -> set[frozenset[str]]:
    out = subprocess.run(
        [python, "-c", IMAGEDEDUP, str(corpus)], capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    return {frozenset((a, b)) for a, dups in found.items() for b in dups if a != b}


def scores(predicted: set, truth: set) -> str:
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return (
        f"precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  "
        f"({hits} of {len(predicted)} predicted pairs right, {len(truth)} true pairs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="+")
    parser.add_argument("--imagededup-python", default="/tmp/idd/bin/python")
    args = parser.parse_args()
    for corpus in args.corpus:
        measure(corpus, args.imagededup_python)


def measure(corpus: Path, imagededup_python: str) -> None:
    truth = json.loads((corpus / "truth.json").read_text())
    expected = truth_pairs(truth["groups"])
    seed = truth.get("seed", "?")
    print(f"{corpus} (seed {seed}): {len(truth['groups'])} photos, {len(truth['bad'])} bad inputs")
    start = time.perf_counter()
    result = gallerypipe_review(corpus)
    took = time.perf_counter() - start
    groups = groups_of(result, corpus)
    merged, sets = moment_sets_merged(groups, truth["groups"])
    published, rejected = rejected_published(result, corpus, truth)
    print(
        f"gallerypipe        {scores(pairs_of(groups), expected)}; "
        f"{merged} of {sets} moment sets merged; "
        f"{published} of {rejected} rejected photos published; "
        f"{len(result.skipped)} skipped; {took:.1f} s"
    )
    if Path(imagededup_python).exists():
        start = time.perf_counter()
        theirs = imagededup_pairs(corpus, imagededup_python)
        took = time.perf_counter() - start
        print(f"imagededup PHash   {scores(theirs, expected)}; {took:.1f} s")
    else:
        print(f"imagededup: {imagededup_python} not found, left out")


if __name__ == "__main__":
    main()
