"""Plan, then act: which objects to upload and which are already in the store; the manifest last."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from .failures import warn
from .manifest import (
    MANIFEST_KEY,
    MAX_MANIFEST_BYTES,
    BadManifest,
    is_rendition_key,
    parse_manifest,
    referenced_keys,
)
from .storage import IMMUTABLE, SHORT_LIVED, PreconditionFailed, Storage, StorageError, StoredObject


@dataclass(frozen=True)
class PublishPlan:
    """Every wanted key, either uploaded or reused: decided before anything is rendered, and
    carried out as it is (a run never uploads a key the plan reuses, nor the other way round)."""

    upload: tuple[str, ...]  # keys to write: missing, damaged, or no manifest vouches for them
    reuse: tuple[str, ...]  # keys the current manifest names with the size the store lists

    def only(self, keys: Collection[str]) -> PublishPlan:
        """The part of this plan for these keys (those of the photos that were published)."""
        return PublishPlan(
            upload=tuple(k for k in self.upload if k in keys),
            reuse=tuple(k for k in self.reuse if k in keys),
        )


@dataclass(frozen=True)
class PreviousManifest:
    raw: bytes | None  # None when there is none, or one too large to read
    data: dict | None  # None unless it passed the schema: nothing else is trusted
    etag: str | None
    modified: float | None = None  # when it was written, for its archive's name
    problem: str | None = None  # why a manifest that is there counts as none


def plan_publish(
    wanted: Iterable[str], existing: Mapping[str, StoredObject], claimed: Mapping[str, int]
) -> PublishPlan:
    """Which wanted keys to upload, and which to reuse from the store's listing.

    A listed object is reused only when the current manifest (`claimed`: key → bytes) names it
    with the size it has. Anything else is written: a missing or truncated object, and one no
    manifest vouches for (left by a run killed before its manifest, or by someone else), whose
    bytes nothing can check before rendering; writing it also gives an old one a fresh age, so a
    prune running meanwhile cannot delete it from under the manifest this run is about to write.
    """
    keys = tuple(dict.fromkeys(wanted))

    def vouched(key: str) -> bool:
        found = existing.get(key)
        return found is not None and key in claimed and found.size == claimed[key]

    return PublishPlan(
        upload=tuple(k for k in keys if not vouched(k)),
        reuse=tuple(k for k in keys if vouched(k)),
    )


def read_previous(
    store: Storage, existing: Mapping[str, StoredObject], announce: bool = True
) -> PreviousManifest:
    """The manifest now in the store, or nothing. One that is too large, does not parse or does
    not match the schema counts as none (announce: with a warning naming it): it is replaced,
    conditionally on its ETag, and kept as an archive when it could be read."""
    if MANIFEST_KEY not in existing:
        return PreviousManifest(None, None, None)
    listed = existing[MANIFEST_KEY]
    etag = listed.etag or store.etag(MANIFEST_KEY)
    raw, data, problem = None, None, None
    if listed.size > MAX_MANIFEST_BYTES:
        problem = f"{listed.size} bytes, over the {MAX_MANIFEST_BYTES} a manifest may have"
    else:
        raw = store.get(MANIFEST_KEY)
        try:
            data = parse_manifest(raw)
        except BadManifest as err:
            problem = str(err)
    previous = PreviousManifest(raw, data, etag, listed.modified, problem)
    if problem and announce:
        kept = f"; it is kept as {archive_key(previous)}" if raw is not None else ""
        warn(
            f"{store.url}/{MANIFEST_KEY} is not a gallerypipe manifest ({problem}): treated as "
            f"absent, nothing in it is reused, and this run replaces it{kept}"
        )
    return previous


def archive_key(previous: PreviousManifest) -> str:
    """Where the manifest being replaced is kept: named for when it was written and its ETag, so
    two publishers replacing the same manifest write the same archive, not two. One that is not
    a manifest prune can read is kept without the .json that would make prune read it."""
    stamp = datetime.fromtimestamp(previous.modified or 0, UTC).strftime("%Y%m%dT%H%M%SZ")
    readable = previous.raw is not None and _readable(previous.raw)[1] is None
    suffix = "json" if readable else "unreadable"
    return f"manifests/{stamp}-{(previous.etag or 'none')[:12]}.{suffix}"


def upload(store: Storage, key: str, data: bytes, content_type: str) -> None:
    store.put(key, data, content_type, IMMUTABLE)


def publish_manifest(store: Storage, payload: bytes, previous: PreviousManifest) -> bool:
    """Write the manifest last, conditionally on the one read at the start; keep the old one.

    Returns False when the content is unchanged (nothing written).
    """
    if previous.raw == payload:
        return False
    _check_still_there(store, referenced_keys(json.loads(payload)))
    if previous.raw is not None:
        store.put(archive_key(previous), previous.raw, "application/json", SHORT_LIVED)
    try:
        store.put(
            MANIFEST_KEY,
            payload,
            "application/json",
            SHORT_LIVED,
            if_match=previous.etag,
            if_none_match=previous.etag is None,
        )
    except PreconditionFailed as err:
        if store.get(MANIFEST_KEY) == payload:
            return True  # our own write, answered late (a retry after a lost response)
        raise StorageError(
            f"{MANIFEST_KEY} was changed by another publisher during this run; nothing was "
            "replaced (re-run to publish on top of it)"
        ) from err
    return True


def _check_still_there(store: Storage, keys: set[str]) -> None:
    """Every key the new manifest names is in the store, listed again just before it goes up:
    a prune running meanwhile may have taken an object this run reused or uploaded long ago."""
    gone = sorted(keys - store.list().keys())
    if gone:
        raise StorageError(
            f"{len(gone)} objects left the store during this run (a prune running meanwhile?), "
            f"e.g. {gone[0]}; {MANIFEST_KEY} was not replaced: run again to upload them"
        )


@dataclass(frozen=True)
class VerifyProblem:
    key: str
    reason: str


@dataclass(frozen=True)
class VerifyReport:
    checked: int  # keys the manifest names, each looked for and (when present) read
    problems: tuple[VerifyProblem, ...]


def verify(store: Storage, transfers: int = 8) -> VerifyReport:
    """Check every key the manifest names: present, with the size and sha256 it claims."""
    existing = store.list()
    data, problem = _manifest_to_verify(store, existing)
    if problem:
        return VerifyReport(0, (VerifyProblem(MANIFEST_KEY, problem),))
    claims = {r["key"]: r for p in data["photos"] for r in p["renditions"]}
    problems = [VerifyProblem(k, "missing from the store") for k in claims if k not in existing]
    present = [k for k in claims if k in existing]

    def measure(key: str) -> tuple[int, str]:
        data = store.get(key)
        return len(data), hashlib.sha256(data).hexdigest()

    with ThreadPoolExecutor(max_workers=transfers) as pool:
        for key, found in zip(present, pool.map(measure, present), strict=True):
            if reason := _differs(found, claims[key]):
                problems.append(VerifyProblem(key, reason))
    return VerifyReport(len(claims), tuple(problems))


def _manifest_to_verify(
    store: Storage, existing: Mapping[str, StoredObject]
) -> tuple[dict | None, str | None]:
    """The manifest verify checks the store against, or why there is none to check."""
    if MANIFEST_KEY not in existing:
        return None, "missing"
    if existing[MANIFEST_KEY].size > MAX_MANIFEST_BYTES:
        problem = f"over {MAX_MANIFEST_BYTES} bytes"  # not even read
        return None, f"not a gallerypipe manifest: {problem}"
    data, problem = _readable(store.get(MANIFEST_KEY))
    if problem and not problem.startswith("not valid JSON"):
        problem = f"not a gallerypipe manifest: {problem}"
    return data, problem


def _differs(found: tuple[int, str], claim: dict) -> str | None:
    size, sha256 = found
    if not isinstance(claim.get("bytes"), int) or not isinstance(claim.get("sha256"), str):
        return "the manifest gives no size or sha256 to check it against"
    if size != claim["bytes"]:
        return f"{size} bytes, the manifest says {claim['bytes']}"
    if sha256 != claim["sha256"]:
        return "content differs from the manifest's sha256"
    return None


@dataclass(frozen=True)
class PrunePlan:
    delete: tuple[str, ...]
    keep: int  # everything not deleted: referenced + too_recent + foreign
    manifests_kept: tuple[str, ...]
    too_recent: int  # unreferenced but younger than min_age: maybe a publish in progress
    referenced: int = 0  # objects a kept manifest names, the manifests included
    foreign: int = 0  # not written by gallerypipe at this prefix (another event's, a page's)


def plan_prune(
    store: Storage, keep_manifests: int = 5, min_age: float = 3600.0, now: float | None = None
) -> PrunePlan:
    """Objects that neither the manifest nor the newest kept archived manifests reference.

    Any failed listing or read raises, and so does a missing or unreadable manifest (the prefix
    may be wrong), so nothing is deleted on partial knowledge.
    """
    existing = store.list()
    if MANIFEST_KEY not in existing:
        raise StorageError(_no_manifest(store.url, existing))
    kept_manifests = _kept_manifests(existing, keep_manifests)
    referenced = set(kept_manifests)
    for key in kept_manifests:
        referenced |= _manifest_references(store, key)
    ours = [k for k in sorted(existing) if _written_by_us(k)]
    unreferenced = [k for k in ours if k not in referenced]
    recent = _too_recent(unreferenced, existing, min_age, now)
    return PrunePlan(
        delete=tuple(k for k in unreferenced if k not in recent),
        keep=len(existing) - len(unreferenced) + len(recent),
        manifests_kept=tuple(kept_manifests),
        too_recent=len(recent),
        referenced=len(referenced & existing.keys()),
        foreign=len(existing) - len(ours) - 1,  # manifest.json is neither
    )


def _kept_manifests(existing: Mapping[str, StoredObject], keep: int) -> list[str]:
    """manifest.json and the newest `keep` archived manifests."""
    archived = _archived_manifests(existing)
    return [MANIFEST_KEY, *(archived[-keep:] if keep else [])]


def _too_recent(
    keys: Sequence[str], existing: Mapping[str, StoredObject], min_age: float, now: float | None
) -> list[str]:
    """The keys younger than min_age: maybe a publish in progress that has not yet written its
    manifest."""
    now = time.time() if now is None else now
    return [k for k in keys if now - existing[k].modified < min_age]


def _archived_manifests(existing: Mapping[str, StoredObject]) -> list[str]:
    """The archived manifests, oldest first by when each was archived (not by name: names
    have changed form between versions, and carry the time of another clock)."""
    archived = [k for k in existing if k.startswith("manifests/") and k.endswith(".json")]
    return sorted(archived, key=lambda k: (existing[k].modified, k))


def _written_by_us(key: str) -> bool:
    """Keys gallerypipe writes at an event's prefix, besides manifest.json: renditions/<name>
    and manifests/<name>. Anything else (an event nested below, a Hugo page stored alongside)
    is not prune's to delete."""
    folder, _, name = key.partition("/")
    return folder in ("renditions", "manifests") and bool(name) and "/" not in name


def _no_manifest(url: str, existing: Mapping[str, StoredObject]) -> str:
    """Why prune refuses a prefix without a manifest, with the event prefixes one level down."""
    below = sorted(k.removesuffix(f"/{MANIFEST_KEY}") for k in existing if _one_level_down(k))
    hints = "".join(
        f" {name}/{MANIFEST_KEY} exists: did you mean {url.rstrip('/')}/{name}?"
        for name in below[:3]
    )
    return (
        f"{url}: no {MANIFEST_KEY} at this prefix, so nothing is known to be referenced; "
        f"nothing was deleted (is the store URL the prefix of one event?).{hints}"
    )


def _one_level_down(key: str) -> bool:
    name, _, rest = key.partition("/")
    return bool(name) and rest == MANIFEST_KEY


def _manifest_references(store: Storage, key: str) -> set[str]:
    """The keys one manifest names; a manifest that cannot be understood refuses the prune."""
    data, problem = _readable(store.get(key))
    if problem:
        raise StorageError(_unreadable(store.url, key, problem))
    return referenced_keys(data)


def _readable(raw: bytes) -> tuple[dict | None, str | None]:
    """What prune and verify need of a manifest, checked: (data, None), or why not (data is
    None when it does not even parse). Looser than the schema ingest asks of a manifest it
    reuses: prune and verify only read keys, sizes and digests, and must not refuse an older
    manifest for a field they never look at."""
    if len(raw) > MAX_MANIFEST_BYTES:
        return None, f"over {MAX_MANIFEST_BYTES} bytes"
    try:
        data = json.loads(raw)
    except RecursionError:
        return None, "nested too deeply"
    except ValueError as err:
        return None, f"not valid JSON: {err}"
    return data, _shape_problem(data)


def _shape_problem(data: object) -> str | None:
    """What keeps referenced_keys from reading every key of this manifest, if anything."""
    photos = data.get("photos") if isinstance(data, dict) else None
    if not isinstance(photos, list):
        return "no list of photos"
    renditions = [p.get("renditions") if isinstance(p, dict) else None for p in photos]
    if not all(isinstance(r, list) for r in renditions):
        return "a photo without a list of renditions"
    keys = [r.get("key") if isinstance(r, dict) else None for group in renditions for r in group]
    return _keys_problem(keys)


def _keys_problem(keys: Sequence[object]) -> str | None:
    """What is wrong with a manifest's rendition keys, if anything."""
    if not all(isinstance(k, str) for k in keys):
        return "a rendition without a key"
    if bad := next((k for k in keys if not is_rendition_key(k)), None):
        return f"a rendition key gallerypipe does not write: {bad!r}"
    return None


def _unreadable(url: str, key: str, reason: str) -> str:
    return (
        f"{url}: {key} is not a gallerypipe manifest ({reason}); nothing was deleted "
        "(is the store URL right?)"
    )


def prune(store: Storage, plan: PrunePlan, max_delete: int | None = None) -> list[str]:
    """Delete what the plan says, refusing outright when it is over the cap.

    Deleting is idempotent: after a failure a re-run completes the prune.
    """
    if max_delete is not None and len(plan.delete) > max_delete:
        raise StorageError(
            f"prune would delete {len(plan.delete)} objects, over --max-delete {max_delete}; "
            "nothing was deleted"
        )
    store.delete(plan.delete)
    return list(plan.delete)
