"""The original study's published corr2 values (PUBLISHED VALUES, not ours), per experiment, system and
condition, training-set and test-set averages (docs: seed-systems.md, "What the published numbers are")."""

from __future__ import annotations

from typing import Any


def pub_values(train: float | None, test: float | None = None) -> dict[str, float | None]:
    """{"train": ..., "test": ...} corr2 of one published row (None: not published)."""
    return {"train": train, "test": test}


#: PUBLISHED VALUES, not ours: corr2 of the original study per experiment, system and condition, as
#: {"train": average over its training videos, "test": average over its held-out test videos (None: not
#: published)}, from its result spreadsheets (docs: seed-systems.md, "What the published numbers are").
#: Conditions: single: a speaker or "mean" (of s1, s16, s25, s27); multi: the number of speakers (training-set
#: values only); vocabulary: "mean" over the 51 words (none for Lip2AudSpec).
PUBLISHED: dict[str, dict[str, dict[Any, dict[str, float | None]]]] = {
    "single": {
        "lip2audspec": {"mean": pub_values(0.633, 0.525), "s1": pub_values(0.663, 0.567), "s16": pub_values(0.728, 0.540),
                        "s25": pub_values(0.575, 0.515), "s27": pub_values(0.567, 0.478)},
        "gp2s": {"mean": pub_values(0.729, 0.398), "s1": pub_values(0.701, 0.375), "s16": pub_values(0.779, 0.422),
                 "s25": pub_values(0.721, 0.417), "s27": pub_values(0.714, 0.378)},
        "gf2s": {"mean": pub_values(0.714, 0.352), "s1": pub_values(0.679, 0.328), "s16": pub_values(0.771, 0.423),
                 "s25": pub_values(0.738, 0.306), "s27": pub_values(0.669, 0.351)},
    },
    "multi": {
        "gf2s": {n: pub_values(v) for n, v in zip((1, 2, 4, 6, 8), (0.72, 0.68, 0.71, 0.65, 0.61))},
        "gp2s": {n: pub_values(v) for n, v in zip((1, 2, 4, 6, 8), (0.73, 0.72, 0.56, 0.54, 0.50))},
        "lip2audspec": {n: pub_values(v) for n, v in zip((1, 2, 4, 6, 8), (0.63, 0.40, 0.39, 0.33, 0.29))},
    },
    "vocabulary": {"gf2s": {"mean": pub_values(0.807, 0.670)}, "gp2s": {"mean": pub_values(0.737, 0.618)}},
}
#: The abstract's headline numbers (rounded training-set averages; PUBLISHED VALUES), for reference.
HEADLINE: dict[str, dict[str, float]] = {
    "single": {"gp2s": 0.73, "gf2s": 0.72, "lip2audspec": 0.63},
    "vocabulary": {"gp2s": 0.74, "gf2s": 0.81},
}


def published(kind: str, system: str, condition: Any) -> dict[str, float | None]:
    """The study's {"train", "test"} corr2 for one row (None where not published). condition: single: a
    speaker or "mean"; multi: the number of speakers; vocabulary: ignored (the mean over words)."""
    by_condition = PUBLISHED.get(kind, {}).get(system, {})
    return dict(by_condition.get("mean" if kind == "vocabulary" else condition) or pub_values(None))
