"""Phones with timings -> per-frame lip articulation (opening, jaw, spreading, rounding, teeth), with coarticulation."""

from __future__ import annotations

import numpy as np

from .speech import Phone

#: Articulation parameters, each in [0, 1], in column order of every articulation array.
PARAMS: tuple[str, ...] = ("open", "jaw", "spread", "round", "teeth")

# Target (open, jaw, spread, round, teeth) and dominance per phone (eSpeak en-us mnemonics, stress removed).
# Dominance is how strongly a phone imposes its target on its neighbours' time (Cohen & Massaro style):
# labials dominate, alveolars and velars take their lips from their neighbours. On top of the blend, the lip
# opening of bilabials and labiodentals is capped at their target inside their interval (the lips touch).
_REST = ((0.0, 0.05, 0.25, 0.0, 0.0), 2.0)
_TARGETS: dict[str, tuple[tuple[float, float, float, float, float], float]] = {
    # vowels: opening and jaw by height, spreading for front, rounding for back rounded
    "i:": ((0.25, 0.15, 0.95, 0.0, 0.8), 1.0),
    "i": ((0.25, 0.15, 0.9, 0.0, 0.8), 1.0),
    "I": ((0.32, 0.22, 0.75, 0.0, 0.7), 1.0),
    "E": ((0.55, 0.45, 0.55, 0.0, 0.6), 1.0),
    "e": ((0.5, 0.4, 0.6, 0.0, 0.6), 1.0),
    "a": ((0.8, 0.75, 0.45, 0.0, 0.5), 1.0),
    "a#": ((0.42, 0.35, 0.2, 0.0, 0.3), 0.8),
    "@": ((0.38, 0.3, 0.2, 0.0, 0.3), 0.6),
    "3:": ((0.4, 0.3, 0.2, 0.3, 0.3), 0.8),
    "V": ((0.62, 0.55, 0.2, 0.0, 0.4), 1.0),
    "A": ((0.85, 0.8, 0.3, 0.0, 0.4), 1.0),
    "A:": ((0.85, 0.8, 0.3, 0.0, 0.4), 1.0),
    "0": ((0.7, 0.65, 0.0, 0.4, 0.3), 1.0),
    "O": ((0.6, 0.55, 0.0, 0.7, 0.2), 1.0),
    "o": ((0.5, 0.45, 0.0, 0.75, 0.2), 1.0),
    "U": ((0.32, 0.25, 0.0, 0.8, 0.2), 1.0),
    "u:": ((0.22, 0.15, 0.0, 1.0, 0.1), 1.2),
    "u": ((0.22, 0.15, 0.0, 1.0, 0.1), 1.2),
    # consonants
    "p": ((0.0, 0.1, 0.25, 0.0, 0.0), 4.0),
    "b": ((0.0, 0.1, 0.25, 0.0, 0.0), 4.0),
    "m": ((0.0, 0.1, 0.25, 0.0, 0.0), 4.0),
    "f": ((0.08, 0.1, 0.35, 0.0, 1.0), 3.0),
    "v": ((0.08, 0.1, 0.35, 0.0, 1.0), 3.0),
    "T": ((0.18, 0.15, 0.4, 0.0, 0.9), 4.0),
    "D": ((0.18, 0.15, 0.4, 0.0, 0.9), 4.0),
    "s": ((0.12, 0.08, 0.55, 0.0, 0.95), 4.0),
    "z": ((0.12, 0.08, 0.55, 0.0, 0.95), 4.0),
    "S": ((0.2, 0.1, 0.0, 0.65, 0.8), 4.0),
    "Z": ((0.2, 0.1, 0.0, 0.65, 0.8), 4.0),
    "tS": ((0.18, 0.1, 0.0, 0.6, 0.8), 4.0),
    "dZ": ((0.18, 0.1, 0.0, 0.6, 0.8), 4.0),
    "t": ((0.25, 0.18, 0.4, 0.0, 0.6), 0.4),
    "d": ((0.25, 0.18, 0.4, 0.0, 0.6), 0.4),
    "n": ((0.25, 0.18, 0.4, 0.0, 0.5), 0.4),
    "l": ((0.3, 0.22, 0.35, 0.0, 0.5), 0.4),
    "k": ((0.3, 0.25, 0.3, 0.0, 0.4), 0.3),
    "g": ((0.3, 0.25, 0.3, 0.0, 0.4), 0.3),
    "N": ((0.3, 0.25, 0.3, 0.0, 0.4), 0.3),
    "h": ((0.4, 0.3, 0.3, 0.0, 0.4), 0.2),
    "r": ((0.22, 0.18, 0.0, 0.55, 0.3), 2.0),
    "w": ((0.1, 0.1, 0.0, 1.0, 0.0), 3.0),
    "j": ((0.2, 0.12, 0.65, 0.0, 0.6), 0.6),
}
# Diphthongs and r-coloured vowels: two targets, one per half of the phone.
_SPLIT: dict[str, tuple[str, str]] = {
    "eI": ("E", "I"), "aI": ("a", "I"), "aU": ("a", "U"), "oU": ("o", "U"), "OI": ("O", "I"),
    "o@": ("o", "@"), "i@": ("i:", "@"), "A@": ("A", "r"), "e@": ("E", "@"), "U@": ("U", "@"),
}


_LABIAL = {"p", "b", "m", "f", "v"}


def _target(symbol: str) -> tuple[np.ndarray, float]:
    """Target vector and dominance of one (non-diphthong) phone; unknown symbols are weak neutral phones."""
    if symbol.startswith("_"):
        t, dom = _REST
    else:
        base = symbol.rstrip("#") if symbol not in _TARGETS else symbol
        t, dom = _TARGETS.get(base, ((0.3, 0.25, 0.3, 0.0, 0.4), 0.3))
    return np.asarray(t, np.float64), dom


def phone_segments(phones: list[Phone]) -> list[tuple[float, float, np.ndarray, float, str]]:
    """Phones -> (start s, end s, target vector, dominance, symbol) segments, diphthongs split into two halves."""
    segs = []
    for p in phones:
        if p.end <= p.start:
            continue
        if p.symbol in _SPLIT:
            mid = 0.5 * (p.start + p.end)
            for sym, (a, b) in zip(_SPLIT[p.symbol], ((p.start, mid), (mid, p.end))):
                t, d = _target(sym)
                segs.append((a, b, t, d, sym))
        else:
            t, d = _target(p.symbol)
            segs.append((p.start, p.end, t, d, p.symbol))
    return segs


def articulate(
    phones: list[Phone],
    n_frames: int,
    fps: float = 25.0,
    lead: float = 0.0,
    tau: float = 0.035,
    smooth: float = 0.012,
) -> np.ndarray:
    """Per-frame articulation (n_frames, 5) in PARAMS order, in [0, 1], from phone timings (s).

    Each phone pulls the trajectory towards its target with its dominance, decaying exponentially
    (time constant `tau`, s) outside its interval, so neighbouring phones blend (coarticulation).
    Time outside all phones is rest. `lead` (s, positive = lips ahead of the sound) shifts the lips in time.
    """
    step = 0.004
    duration = n_frames / fps
    t = np.arange(0.0, duration + 4 * step, step)
    rest_t, rest_d = _target("_")
    segs = phone_segments(phones)
    if segs:
        first, last = segs[0][0], segs[-1][1]
        segs = [(-1.0, first, rest_t, rest_d, "_")] + segs + [(last, duration + 1.0, rest_t, rest_d, "_")]
    else:
        segs = [(-1.0, duration + 1.0, rest_t, rest_d, "_")]
    starts = np.array([s[0] for s in segs])[:, None]
    ends = np.array([s[1] for s in segs])[:, None]
    targets = np.stack([s[2] for s in segs])  # (S, 5)
    dom = np.array([s[3] for s in segs])[:, None]
    dist = np.maximum(starts - t[None], 0.0) + np.maximum(t[None] - ends, 0.0)  # (S, T) s outside the phone
    weights = dom * np.exp(-dist / tau)
    traj = (weights.T @ targets) / weights.sum(0)[:, None]  # (T, 5)
    for a, b, target, _, symbol in segs:
        if symbol in _LABIAL:
            inside = (t >= a) & (t < b)
            traj[inside, 0] = np.minimum(traj[inside, 0], target[0])
    if smooth > 0:
        from scipy.ndimage import gaussian_filter1d

        traj = gaussian_filter1d(traj, smooth / step, axis=0, mode="nearest")
    frame_t = (np.arange(n_frames) + 0.5) / fps + lead
    out = np.stack([np.interp(frame_t, t, traj[:, k]) for k in range(traj.shape[1])], axis=1)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
