"""The paired test of two cells the run did not test against each other (a run tests against its baseline, or all
pairs only with `statistics.all_pairs`): their hypotheses and the references from segments.jsonl, scored by
`evalharness.score` (the run's own scoring and statistics path) with the folder's metric and statistics settings,
B as the baseline. Only sacrebleu's metrics: a model metric would need its model here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from evalharness.errors import UserError

SACREBLEU_METRICS = ("bleu", "chrf", "chrf++", "ter")
# The folder's statistics settings that the test takes (config.yaml's `statistics`).
TEST_SETTINGS = ("bootstrap", "seed", "test", "n_samples", "alpha")


def streams(references: pd.Series) -> list[list[str]]:
    """Per-segment reference lists as reference streams (``streams[k][i]``: reference k of segment i)."""
    rows = [[str(r) for r in refs] for refs in references]
    counts = {len(r) for r in rows}
    if len(counts) != 1:
        raise UserError("segments.jsonl: the segments have different numbers of references; cannot test the pair")
    return [list(stream) for stream in zip(*rows, strict=True)]


def paired_test(
    a: pd.DataFrame, b: pd.DataFrame, config: dict, langpair: str, label_a: str = "A", label_b: str = "B"
) -> pd.DataFrame:
    """Per sacrebleu metric of the run's config: the corpus scores, delta A - B, the paired test's p-value and the
    delta's CI (`a`, `b`: the two cells' rows of segments.jsonl, one dataset and level)."""
    from evalharness import score

    metrics = [m for m in config.get("metrics") or [] if isinstance(m, dict) and m.get("name") in SACREBLEU_METRICS]
    if not metrics:
        raise UserError("config.yaml: the run has no sacrebleu metric (bleu, chrf, chrf++, ter) to test the pair with")
    a, b = a.set_index("segment"), b.set_index("segment")
    common = a.index.intersection(b.index, sort=True)
    settings: dict[str, Any] = {
        k: v for k, v in (config.get("statistics") or {}).items() if k in TEST_SETTINGS and v is not None
    }
    result = score(
        {
            label_a: [str(h) for h in a.loc[common, "hypothesis"]],
            label_b: [str(h) for h in b.loc[common, "hypothesis"]],
        },
        streams(a.loc[common, "references"]),
        metrics=[{k: v for k, v in m.items() if v is not None} for m in metrics],
        langpair=langpair,
        statistics={**settings, "baseline": label_b},
        workers=1,
        segments=False,
    )
    scores = result.scores
    tested = scores[scores["system"] == label_a].set_index("metric")
    base = scores[scores["system"] == label_b].set_index("metric")
    return pd.DataFrame(
        {
            "metric": list(tested.index),
            "A": tested["score"].astype(float).to_numpy(),
            "B": base.loc[tested.index, "score"].astype(float).to_numpy(),
            "delta": tested["delta"].astype(float).to_numpy(),
            "p_value": tested["p_value"].astype(float).to_numpy(),
            "delta_ci_low": tested["delta_ci_low"].astype(float).to_numpy(),
            "delta_ci_high": tested["delta_ci_high"].astype(float).to_numpy(),
            "tested": "computed here (the run's statistics settings)",
        }
    )
