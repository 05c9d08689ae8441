"""Is one photo a copy of another, or the same scene at another moment? A region-by-region test.

A copy (a re-encode, a downscale, a 2-5 % crop, an exposure edit) differs from its original a
little everywhere; a later moment of one scene (an arm raised, a head turned, someone walking)
differs a lot in one region and not at all elsewhere, even when the phash cannot tell them apart.

The test works on the DETAIL×DETAIL grayscale thumbnails analyse keeps (no decode here):

1. each thumbnail is scaled to zero mean and unit spread (global brightness and contrast);
2. the two are aligned: for each axis, crops of either photo of up to _MAX_CROP at five
   positions are tried on the axis's mean profile, and the best few per axis are tried in 2-D,
   so a crop or a small shift lines up to a fraction of a pixel;
3. one is mapped onto the other's gray levels (histogram matching, both ways, the lower score
   counting), so an exposure edit that clips the highlights leaves no region behind;
4. in every window of _WINDOW² pixels, the squared difference is divided by the window's own
   contrast (plus a floor for flat regions): 0 for equal, about 1 for unrelated content. The
   score is the largest window's value; a copy stays low everywhere, a gesture scores high
   in its region.
"""

from __future__ import annotations

import functools

import numpy as np

_WINDOW = 12  # pixels on a side of the windows compared (3.5 % of a 64-pixel frame)
_MARGIN = 2  # pixels at each edge left out (resampling edges after a crop)
_FLOOR = 0.08  # contrast floor per pixel (of unit spread): flat regions compare by level
_MAX_CROP = 0.05
_CROP_STEPS = 6  # crop fractions 0, 1, ..., 5 %
_POSITIONS = (0.0, 0.25, 0.5, 0.75, 1.0)  # where the crop sits: start, …, end
_AXIS_BEST = 2  # alignments per axis tried in 2-D
_ALIGN_ABOVE = 0.1  # pairs scoring this much as they are are aligned and scored again
_BATCH = 256  # pairs compared at once


def details(raw: list[bytes], edge: int) -> np.ndarray:
    """The thumbnails as an (n, edge, edge) float array, each at zero mean and unit spread."""
    if not raw:
        return np.zeros((0, edge, edge), dtype=np.float32)
    arr = np.frombuffer(b"".join(raw), dtype=np.uint8).reshape(len(raw), edge, edge)
    return _normalise(arr.astype(np.float32))


def _normalise(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=(-1, -2), keepdims=True)
    return x / np.maximum(x.std(axis=(-1, -2), keepdims=True), 1e-3)


def local_change(
    thumbs: np.ndarray, left: np.ndarray, right: np.ndarray, turns: np.ndarray | None = None
) -> np.ndarray:
    """The local change score of each pair (thumbs[left[k]], thumbs[right[k]]): lower is more
    alike. turns[k] turns the left thumbnail by 90°·turns[k] counter-clockwise first."""
    scores = np.zeros(len(left), dtype=np.float32)
    for start in range(0, len(left), _BATCH):
        rows = slice(start, start + _BATCH)
        a, b = thumbs[left[rows]], thumbs[right[rows]]
        if turns is not None:
            a = _turn(a, turns[rows])
        found = _score(a, b)
        differ = np.flatnonzero(found > _ALIGN_ABOVE)  # a copy as it is needs no alignment
        if len(differ):
            found[differ] = np.minimum(found[differ], _score(*_aligned(a[differ], b[differ])))
        scores[rows] = found
    return scores


def _turn(thumbs: np.ndarray, turns: np.ndarray) -> np.ndarray:
    out = thumbs.copy()
    for k in (1, 2, 3):
        out[turns == k] = np.rot90(thumbs[turns == k], k, axes=(1, 2))
    return out


def _aligned(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a and b resampled onto their common frame (the best crop of either, per axis)."""
    rows = _axis_candidates(a.mean(axis=2), b.mean(axis=2))  # (n, best) along y
    cols = _axis_candidates(a.mean(axis=1), b.mean(axis=1))  # along x
    n, best = rows.shape
    errors = np.empty((n, best, best), dtype=np.float32)
    for i in range(best):
        for j in range(best):
            ca, cb = _resampled(a, b, rows[:, i], cols[:, j])
            errors[:, i, j] = ((ca - cb) ** 2).mean(axis=(1, 2))
    pick = errors.reshape(n, -1).argmin(axis=1)
    everyone = np.arange(n)
    return _resampled(a, b, rows[everyone, pick // best], cols[everyone, pick % best])


def _resampled(a: np.ndarray, b: np.ndarray, row: np.ndarray, col: np.ndarray):
    of_a, of_b = _crop_tables(a.shape[-1])
    ca = of_a[row] @ a @ of_a[col].transpose(0, 2, 1)
    cb = of_b[row] @ b @ of_b[col].transpose(0, 2, 1)
    return _normalise(ca), _normalise(cb)


def _axis_candidates(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """The _AXIS_BEST best alignments of two profiles ((n, edge) each), as indices into the
    crop tables: crop a (index < k, 0 crops neither) or crop b (index k + c)."""
    crops = _crop_transposed(pa.shape[-1])
    ca = _normalise1(pa @ crops)  # (k, n, edge): a cropped by each k
    cb = _normalise1(pb @ crops)
    pa, pb = _normalise1(pa)[None], _normalise1(pb)[None]
    err = np.concatenate([((ca - pb) ** 2).mean(-1), ((cb - pa) ** 2).mean(-1)]).T
    return np.argsort(err, axis=1)[:, :_AXIS_BEST]


def _normalise1(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    return x / np.maximum(x.std(axis=-1, keepdims=True), 1e-3)


def _score(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The largest window's squared difference over its contrast, after histogram matching.

    Each is matched onto the other and the lower score counts: matched onto a copy whose
    highlights clipped, the original's texture there clips too; the other way round the copy's
    flat white would face the original's texture and look changed.
    """
    return np.minimum(_window_max(a, _matched(b, a)), _window_max(_matched(a, b), b))


def _window_max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    m = _MARGIN
    a, b = a[:, m:-m, m:-m], b[:, m:-m, m:-m]
    diff = _box((a - b) ** 2)
    contrast = _box(a * a) - _box(a) ** 2 / _WINDOW**2 + _box(b * b) - _box(b) ** 2 / _WINDOW**2
    ratio = diff / (contrast + _FLOOR * _WINDOW**2)
    return ratio.reshape(len(a), -1).max(axis=1)


def _box(x: np.ndarray) -> np.ndarray:
    """Sums over every _WINDOW×_WINDOW window of the last two axes."""
    w = _WINDOW
    total = np.pad(np.cumsum(np.cumsum(x, axis=-1), axis=-2), [(0, 0), (1, 0), (1, 0)])
    return total[:, w:, w:] - total[:, :-w, w:] - total[:, w:, :-w] + total[:, :-w, :-w]


def _matched(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """b with its gray levels replaced by a's at the same rank; equal levels of b (clipped
    highlights) share the mean of a's levels at their ranks."""
    n, size = len(b), b[0].size
    flat_b = b.reshape(n, -1)
    order = np.argsort(flat_b, axis=1)
    sorted_b = np.take_along_axis(flat_b, order, axis=1)
    sorted_a = np.sort(a.reshape(n, -1), axis=1)
    starts = np.ones((n, size), dtype=bool)
    starts[:, 1:] = sorted_b[:, 1:] != sorted_b[:, :-1]
    run = np.cumsum(starts.ravel()) - 1  # one id per run of equal levels, over all rows
    means = np.bincount(run, sorted_a.ravel()) / np.bincount(run)
    out = np.empty_like(flat_b)
    np.put_along_axis(out, order, means[run].reshape(n, size).astype(out.dtype), axis=1)
    return out.reshape(b.shape)


@functools.cache
def _crop_tables(edge: int) -> tuple[np.ndarray, np.ndarray]:
    """The matrices applied to a and to b for each alignment index: a cropped (b as it is),
    then b cropped (a as it is)."""
    crops = _crop_matrices(edge)
    eye = np.broadcast_to(crops[0], crops.shape)
    return np.concatenate([crops, eye]), np.concatenate([eye, crops])


@functools.cache
def _crop_transposed(edge: int) -> np.ndarray:
    return np.ascontiguousarray(_crop_matrices(edge).transpose(0, 2, 1))


def _crop_matrices(edge: int) -> np.ndarray:
    """Linear-interpolation matrices that crop one axis (none first, then each crop fraction at
    each position) and resample it back to edge pixels."""
    spans = [(0.0, float(edge))]
    for step in range(1, _CROP_STEPS):
        cut = _MAX_CROP * step / (_CROP_STEPS - 1) * edge
        spans += [(cut * at, edge - cut * (1 - at)) for at in _POSITIONS]
    matrices = np.zeros((len(spans), edge, edge), dtype=np.float32)
    for k, (low, high) in enumerate(spans):
        centres = low + (np.arange(edge) + 0.5) * (high - low) / edge - 0.5
        below = np.floor(centres)
        weight = (centres - below).astype(np.float32)
        first = np.clip(below.astype(int), 0, edge - 1)
        second = np.clip(first + 1, 0, edge - 1)
        np.add.at(matrices[k], (np.arange(edge), first), 1 - weight)
        np.add.at(matrices[k], (np.arange(edge), second), weight)
    return matrices
