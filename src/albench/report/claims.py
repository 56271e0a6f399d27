"""The papers' claims this run can test, each with an estimate, an interval and a verdict.

Pure functions over tidy tables (no files are read here). Every verdict comes from
the numbers by the rule of ``docs/metrics.md`` ("Claims"):

- every claim is a set of *comparisons* (claimed-better − claimed-worse, paired
  by seed, so a positive difference is the claimed direction);
- each comparison gets a two-sided interval at level 1 − α/m (Bonferroni over the
  claim's m primary comparisons) of the mean paired difference over seeds;
- a comparison is **supported** iff its interval lies above 0; **not supported**
  iff its interval lies below 0, or its estimate is ≤ 0 and the interval excludes
  every effect of at least the claim's margin; otherwise **inconclusive at this
  scale** (also with fewer than two paired seeds);
- a claim is supported iff every primary comparison is; not supported iff at
  least one is; inconclusive otherwise; **not testable in this run** when the run
  lacks the samplers, settings or diagnostics it needs (the reason is given).

Claims (a)–(c) are TiDAL's (Kye et al., ICCV 2023), (d)–(e) label dispersion's
(Zolfaghari Bengar et al., CAIP 2021).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from albench.report.metrics import (
    BCA_MIN_N,
    SETTING,
    IntervalSpec,
    setting_label,
    top_fraction_accuracy,
)

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive at this scale"
NOT_TESTABLE = "not testable in this run"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NOT_TESTABLE)

TIDAL = ("tidal_entropy", "tidal_margin")
UNCERTAINTY = ("entropy", "margin", "least_confidence", "bald")
DISPERSION = "dispersion"
DISPERSION_RIVALS = ("random", "entropy")
SNAPSHOT_SCORES = ("entropy", "margin", "least_confidence")
KL_VIEWS = {
    # view: (KL to the snapshot, KL to the prediction, description)
    "train": (
        "snapshot_train",
        "predicted_train",
        "TiDAL's own target view (train-mode BN, training augmentation)",
    ),
    "clean": ("snapshot", "predicted", "clean eval view"),
}
FRACTIONS = np.linspace(0.01, 1.0, 100)


@dataclass(frozen=True)
class ClaimSpec:
    """What a claim says and how this run measures it."""

    key: str
    paper: str
    statement: str
    quantity: str
    unit: str
    margin_option: str  # the ReportConfig field holding the claim's margin


CLAIMS = (
    ClaimSpec(
        "a",
        "TiDAL (Kye et al., ICCV 2023)",
        "TiDAL(H) and TiDAL(M) beat the uncertainty baselines (entropy, margin, least "
        "confidence, BALD) on balanced pools",
        "AUBC(TiDAL) − AUBC(baseline) of the run's metric, per seed, on IR-1 settings",
        "points",
        "claim_margin",
    ),
    ClaimSpec(
        "b",
        "TiDAL (Kye et al., ICCV 2023)",
        "TiDAL(H) and TiDAL(M) beat the uncertainty baselines (entropy, margin, least "
        "confidence, BALD) on long-tailed pools",
        "AUBC(TiDAL) − AUBC(baseline) of the run's metric, per seed, on IR > 1 settings",
        "points",
        "claim_margin",
    ),
    ClaimSpec(
        "c",
        "TiDAL (Kye et al., ICCV 2023)",
        "TiDAL's predicted training dynamics are closer to the actual training dynamics "
        "than the final model's snapshot prediction",
        "KL(actual ‖ snapshot) − KL(actual ‖ predicted), mean over the run's scoring "
        "cycles, per seed; the verdict uses TiDAL's own target view when it was recorded",
        "nats",
        "claim_kl_margin",
    ),
    ClaimSpec(
        "d",
        "Label dispersion (Zolfaghari Bengar et al., CAIP 2021)",
        "Label dispersion beats random and entropy sampling at the final budget",
        "final-budget metric of dispersion − that of the rival, per seed, on IR-1 settings "
        "(the paper's balanced pools)",
        "points",
        "claim_margin",
    ),
    ClaimSpec(
        "e",
        "Label dispersion (Zolfaghari Bengar et al., CAIP 2021)",
        "The model's accuracy on the top-x % of the candidates ranked by dispersion is "
        "lower than when ranked by the other uncertainty scores (its Fig. 3)",
        "mean over x = 1…100 % of acc_top-x(other score) − acc_top-x(dispersion), on the "
        "dispersion run's cycle-0 candidates (same model, same candidates), per seed, on "
        "IR-1 settings",
        "points",
        "claim_margin",
    ),
)


@dataclass
class Comparison:
    """One paired comparison of a claim: better − worse over the seeds both have."""

    setting: tuple[str, float]
    better: str
    worse: str
    view: str  # "" or the KL view / score name
    values: np.ndarray  # (n,) per-seed differences, claimed direction positive
    seeds: list[int]
    primary: bool = True
    samplers: tuple[str, ...] = ()  # the runs the comparison reads (for the scale lines)
    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    method: str = ""
    verdict: str = INCONCLUSIVE

    @property
    def label(self) -> str:
        text = f"{self.better} − {self.worse}"
        return f"{text} ({self.view})" if self.view else text


@dataclass
class ClaimResult:
    """A claim's comparisons, interval level and verdict."""

    spec: ClaimSpec
    verdict: str
    reason: str = ""
    comparisons: list[Comparison] = field(default_factory=list)
    level: float = math.nan
    margin: float = math.nan
    scale: list[str] = field(default_factory=list)

    @property
    def primary(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.primary]

    def deciding(self) -> Comparison | None:
        """The primary comparison the verdict hinges on.

        Supported: the one with the lowest lower bound (closest to failing). Not
        supported: the not-supported one with the lowest upper bound. Inconclusive:
        the inconclusive one with the lowest lower bound (furthest from support).
        """
        pool = [c for c in self.primary if c.verdict == self.verdict] or self.primary
        if not pool:
            return None
        if self.verdict == NOT_SUPPORTED:
            return min(pool, key=lambda c: _or_inf(c.high))
        return min(pool, key=lambda c: _or_inf(c.low))


def _or_inf(value: float) -> float:
    return math.inf if math.isnan(value) else value


def comparison_verdict(estimate: float, low: float, high: float, margin: float) -> str:
    """Verdict of one comparison from its estimate and interval (claimed direction > 0).

    - supported: ``low > 0``;
    - not supported: ``high < 0``, or ``estimate <= 0`` and ``high < margin``;
    - inconclusive at this scale: anything else, or an undefined interval.
    """
    if any(math.isnan(v) for v in (estimate, low, high)):
        return INCONCLUSIVE
    if low > 0:
        return SUPPORTED
    if high < 0 or (estimate <= 0 and high < margin):
        return NOT_SUPPORTED
    return INCONCLUSIVE


def claim_verdict(verdicts: list[str]) -> str:
    """All primary comparisons supported → supported; any not supported → not supported."""
    if not verdicts:
        return NOT_TESTABLE
    if all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    if any(v == NOT_SUPPORTED for v in verdicts):
        return NOT_SUPPORTED
    return INCONCLUSIVE


def decide(
    spec: ClaimSpec,
    comparisons: list[Comparison],
    interval: IntervalSpec,
    alpha: float,
    margin: float,
) -> ClaimResult:
    """Intervals at level 1 − α/m (m = primary comparisons), comparison and claim verdicts.

    Secondary comparisons (the other KL view of claim c) get intervals at the same
    level and their own verdicts, but do not enter m or the claim's verdict. The
    interval is ``interval``'s method, except that the percentile bootstrap is
    replaced by the t interval.
    """
    m = max(1, sum(c.primary for c in comparisons))
    level = 1 - alpha / m
    # A verdict needs calibrated coverage: never the percentile bootstrap (≈ 75 % at n = 3).
    method = "t" if interval.method == "bootstrap" else interval.method
    spec_at = IntervalSpec(method, level, interval.n_resamples, interval.seed)
    for comp in comparisons:
        comp.estimate = float(np.mean(comp.values)) if comp.values.size else math.nan
        comp.low, comp.high, comp.method = spec_at.compute(comp.values)
        comp.verdict = comparison_verdict(comp.estimate, comp.low, comp.high, margin)
    verdict = claim_verdict([c.verdict for c in comparisons if c.primary])
    return ClaimResult(spec, verdict, "", comparisons, level, margin)


# ----------------------------------------------------------------------------- comparisons


def paired(
    frame: pd.DataFrame, value: str, better: str, worse: str, setting: tuple[str, float]
) -> tuple[np.ndarray, list[int]]:
    """Per-seed ``value(better) − value(worse)`` in one setting, over the seeds both have.

    ``frame`` has one row per dataset × IR × sampler × seed.
    """
    at = frame[(frame["dataset"] == setting[0]) & (frame["imbalance_ratio"] == setting[1])]
    wide = at.pivot_table(index="seed", columns="sampler", values=value, aggfunc="mean")
    if better not in wide.columns or worse not in wide.columns:
        return np.array([]), []
    both = wide[[better, worse]].dropna()
    return (both[better] - both[worse]).to_numpy(float), [int(s) for s in both.index]


def _settings(frame: pd.DataFrame, balanced: bool) -> list[tuple[str, float]]:
    keys = frame[SETTING].drop_duplicates()
    found = sorted((d, float(r)) for d, r in keys.itertuples(index=False))
    return [s for s in found if (s[1] == 1.0) == balanced]


def _accuracy_comparisons(
    frame: pd.DataFrame,
    value: str,
    winners: tuple[str, ...],
    rivals: tuple[str, ...],
    balanced: bool,
    what: str,
) -> tuple[list[Comparison], str]:
    """Comparisons winner − rival per setting of the right kind; or why there are none."""
    present = set(frame["sampler"])
    have_winners = [s for s in winners if s in present]
    have_rivals = [s for s in rivals if s in present]
    kind = "balanced (IR 1)" if balanced else "long-tailed (IR > 1)"
    if not have_winners:
        return [], f"no {' or '.join(winners)} run with {what}"
    if not have_rivals:
        return [], f"none of {', '.join(rivals)} ran (with {what})"
    settings = _settings(frame[frame["sampler"].isin(have_winners)], balanced)
    if not settings:
        return [], f"no {kind} setting with a {' or '.join(have_winners)} run"
    comparisons = []
    for setting in settings:
        for better in have_winners:
            for worse in have_rivals:
                values, seeds = paired(frame, value, better, worse, setting)
                if seeds:
                    comparisons.append(
                        Comparison(setting, better, worse, "", values, seeds, True, (better, worse))
                    )
    if not comparisons:
        return [], f"no seed where {' / '.join(have_winners)} and a rival both have {what}"
    return comparisons, ""


def tidal_vs_uncertainty(aubc_runs: pd.DataFrame, balanced: bool):
    """Claims (a)/(b): AUBC (points) of each TiDAL variant minus each uncertainty baseline."""
    frame = aubc_runs.assign(points=100.0 * aubc_runs["aubc"])
    return _accuracy_comparisons(
        frame, "points", TIDAL, UNCERTAINTY, balanced, "an AUBC (all cycles finished)"
    )


def dispersion_at_final_budget(final: pd.DataFrame, metric: str):
    """Claim (d): final-budget metric (points) of dispersion minus random and entropy.

    ``final`` holds the finished rows of each setting's last cycle.
    """
    frame = final.assign(points=100.0 * final[metric])
    return _accuracy_comparisons(
        frame, "points", (DISPERSION,), DISPERSION_RIVALS, True, "a finished final cycle"
    )


def predicted_vs_snapshot(diagnostics: pd.DataFrame):
    """Claim (c): KL(actual ‖ snapshot) − KL(actual ‖ predicted) per TiDAL run and view.

    Per seed, the mean over the run's scoring cycles that recorded both KLs of the
    view. The primary view is TiDAL's own target view when any run recorded it,
    else the clean eval view.
    """
    if diagnostics.empty:
        return [], "no cycle recorded the KL diagnostics (no TiDAL run, or diagnostics off)"
    tidal = diagnostics[diagnostics["sampler"].isin(TIDAL)]
    if tidal.empty or tidal["predicted"].isna().all():
        return [], "no tidal_entropy / tidal_margin run recorded kl_actual_vs_predicted"
    views = []
    for view, (snap, pred, _) in KL_VIEWS.items():
        if snap in tidal.columns and tidal[[snap, pred]].notna().all(axis=1).any():
            views.append(view)
    comparisons = []
    for view in views:
        snap, pred, _ = KL_VIEWS[view]
        rows = tidal.dropna(subset=[snap, pred])
        per_seed = (
            rows.assign(gap=rows[snap] - rows[pred])
            .groupby([*SETTING, "sampler", "seed"])["gap"]
            .mean()
            .reset_index()
        )
        for (dataset, ratio, sampler), group in per_seed.groupby([*SETTING, "sampler"]):
            comparisons.append(
                Comparison(
                    (dataset, float(ratio)),
                    f"{sampler} predicted TD",
                    "snapshot",
                    f"{view} view",
                    group["gap"].to_numpy(float),
                    [int(s) for s in group["seed"]],
                    primary=view == views[0],
                    samplers=(sampler,),
                )
            )
    return comparisons, ""


def dispersion_informativeness(candidates: dict[tuple, pd.DataFrame]):
    """Claim (e): area between each snapshot score's top-x% accuracy curve and dispersion's.

    Uses only the dispersion run's cycle-0 ``candidates.csv`` of balanced settings:
    every score there is computed by the same model on the same candidates, so the
    per-seed difference isolates the ranking.
    """
    runs = {k: v for k, v in candidates.items() if k[3] == DISPERSION}
    if not runs:
        return [], "no cycle-0 candidates.csv of a dispersion run"
    balanced = {k: v for k, v in runs.items() if k[1] == 1.0}
    if not balanced:
        return [], "no balanced (IR 1) setting with a dispersion run's candidates.csv"
    values: dict[tuple, list[tuple[int, float]]] = {}
    for (dataset, ratio, seed, _), frame in sorted(balanced.items()):
        own = "sampler_dispersion" if "sampler_dispersion" in frame.columns else DISPERSION
        if own not in frame.columns or "correct" not in frame.columns:
            continue
        correct = frame["correct"].astype(str).str.lower().eq("true").to_numpy()
        base = top_fraction_accuracy(frame[own].to_numpy(float), correct, FRACTIONS)
        for score in SNAPSHOT_SCORES:
            if score not in frame.columns:
                continue
            other = top_fraction_accuracy(frame[score].to_numpy(float), correct, FRACTIONS)
            gap = 100.0 * float(np.mean(other - base))
            values.setdefault((dataset, ratio, score), []).append((seed, gap))
    if not values:
        return [], "the dispersion runs' candidates.csv hold no dispersion and snapshot scores"
    comparisons = [
        Comparison(
            (dataset, ratio),
            "dispersion ranking",
            f"{score} ranking",
            "",
            np.array([g for _, g in pairs]),
            [s for s, _ in pairs],
            samplers=(DISPERSION,),
        )
        for (dataset, ratio, score), pairs in sorted(values.items())
    ]
    return comparisons, ""


# ----------------------------------------------------------------------------- scale


def scale_lines(
    cycles: pd.DataFrame,
    settings: list[tuple[str, float]],
    samplers: list[str],
    models: dict[str, str] | None = None,
) -> list[str]:
    """One line per setting: model, epochs and optimizer steps per cycle, labels, seeds.

    Everything comes from ``cycles.csv`` (finished rows of the given samplers) except
    the model, which comes from ``models`` (the config) when given.
    """
    lines = []
    ok = cycles[(cycles["status"] == "ok") & cycles["sampler"].isin(samplers)]
    for dataset, ratio in settings:
        at = ok[(ok["dataset"] == dataset) & (ok["imbalance_ratio"] == ratio)]
        if at.empty:
            continue
        model = (models or {}).get(dataset, "model not recorded")
        parts = [f"{setting_label(dataset, ratio)}: {model}"]
        parts.append(_range_text(at, "train_epochs", "epochs per cycle"))
        parts.append(_range_text(at, "train_steps", "optimizer steps per cycle"))
        budgets = at["num_labeled"].astype(float)
        parts.append(f"{int(budgets.min())} → {int(budgets.max())} labels")
        parts.append(f"{at['seed'].nunique()} seeds")
        lines.append(", ".join(p for p in parts if p))
    return lines


def _range_text(frame: pd.DataFrame, column: str, what: str) -> str:
    if column not in frame.columns or frame[column].isna().all():
        return f"{what}: not recorded"
    values = frame[column].dropna().astype(float)
    low, high = int(values.min()), int(values.max())
    return f"{low} {what}" if low == high else f"{low}–{high} {what}"


# ----------------------------------------------------------------------------- all claims


@dataclass(frozen=True)
class ClaimInputs:
    """What the claims are computed from (all from the run's aggregated results).

    Attributes:
        cycles: ``cycles.csv`` (for the scale lines).
        aubc_runs: :func:`albench.report.metrics.aubc_per_run` output.
        final: finished rows of each setting's last cycle.
        diagnostics: KL diagnostics per cycle (columns ``predicted``, ``snapshot``
            and, when recorded, ``predicted_train``, ``snapshot_train``).
        candidates: cycle-0 candidates per (dataset, IR, seed, sampler).
        metric: the run's metric for claims (a), (b), (d).
        models: dataset → model name, for the scale lines.
    """

    cycles: pd.DataFrame
    aubc_runs: pd.DataFrame
    final: pd.DataFrame
    diagnostics: pd.DataFrame
    candidates: dict[tuple, pd.DataFrame]
    metric: str = "accuracy"
    models: dict[str, str] | None = None


def evaluate_claims(
    inputs: ClaimInputs,
    interval: IntervalSpec,
    alpha: float,
    margins: dict[str, float],
) -> list[ClaimResult]:
    """Every claim of :data:`CLAIMS`, in order, decided by :func:`decide`.

    Args:
        inputs: the run's results the claims are computed from.
        interval: the report's interval (its method; the level is Bonferroni's).
        alpha: family-wise level of each claim.
        margins: ``{"claim_margin": …, "claim_kl_margin": …}``.
    """
    cycles, aubc_runs, final = inputs.cycles, inputs.aubc_runs, inputs.final
    diagnostics, candidates, metric = inputs.diagnostics, inputs.candidates, inputs.metric
    models = inputs.models
    built = {
        "a": tidal_vs_uncertainty(aubc_runs, balanced=True),
        "b": tidal_vs_uncertainty(aubc_runs, balanced=False),
        "c": predicted_vs_snapshot(diagnostics),
        "d": dispersion_at_final_budget(final, metric),
        "e": dispersion_informativeness(candidates),
    }
    results = []
    for spec in CLAIMS:
        comparisons, reason = built[spec.key]
        margin = margins[spec.margin_option]
        if not comparisons:
            results.append(ClaimResult(spec, NOT_TESTABLE, reason, margin=margin))
            continue
        result = decide(spec, comparisons, interval, alpha, margin)
        settings = sorted({c.setting for c in comparisons})
        samplers = sorted({name for c in comparisons for name in c.samplers})
        result.scale = scale_lines(cycles, settings, samplers, models)
        results.append(result)
    return results


RULE_TEXT = (
    "Each claim is a set of paired comparisons, claimed-better − claimed-worse per seed (so > 0 "
    "is the claimed direction). With m primary comparisons, each gets a two-sided interval at "
    "level 1 − α/m (Bonferroni) of its mean over seeds: a Student-t interval (BCa when "
    f"`report.interval: bca` and n ≥ {BCA_MIN_N}; never the percentile bootstrap, which "
    "under-covers with few seeds). A comparison is **supported** iff its interval lies above 0; **not "
    "supported** iff its interval lies below 0, or its estimate is ≤ 0 and its interval "
    "excludes every effect as large as the margin; otherwise **inconclusive at this scale** "
    "(also with fewer than 2 paired seeds). A claim is supported iff all its primary "
    "comparisons are, not supported iff at least one is, else inconclusive. With every "
    "interval covering (probability ≥ 1 − α under the t model) a 'supported' verdict is never "
    "wrong; the five claims are not corrected against each other."
)


DIGITS = {"points": 2, "nats": 4}  # decimals shown per unit


def _fmt(value: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.{digits}f}"


def claims_markdown(results: list[ClaimResult], experiment: str, options) -> str:
    """``claims.md``: the rule, then per claim its verdict, scale, estimate and comparisons.

    Args:
        results: :func:`evaluate_claims` output.
        experiment: the experiment name(s).
        options: the :class:`~albench.config.ReportConfig` (α, margins, interval).
    """
    lines = [
        f"# Claims of the papers, tested on experiment {experiment}",
        "",
        "| claim | verdict |",
        "|---|---|",
    ]
    lines += [f"| ({r.spec.key}) {r.spec.statement} | **{r.verdict}** |" for r in results]
    lines += [
        "",
        "## Rule",
        "",
        RULE_TEXT,
        "",
        f"Settings of this report: α = {options.alpha:g}; margin {options.claim_margin:g} "
        f"accuracy points for (a), (b), (d), (e) and {options.claim_kl_margin:g} nats for "
        f'(c); interval `{options.interval}` (docs/metrics.md, "Claims"). The scale '
        "lines below come from cycles.csv (model from the config when given); a verdict "
        "holds at that scale only.",
        "",
    ]
    for result in results:
        spec = result.spec
        d = DIGITS.get(spec.unit, 2)
        lines += [f"## ({spec.key}) {spec.statement}", ""]
        lines += [f"- paper: {spec.paper}", f"- verdict: **{result.verdict}**"]
        if result.verdict == NOT_TESTABLE:
            lines += [f"- why: {result.reason}", ""]
            continue
        lines.append(f"- quantity: {spec.quantity} ({spec.unit}; claimed > 0)")
        m = len(result.primary)
        lines.append(
            f"- multiplicity: {m} primary comparison(s), each interval at "
            f"{result.level:.3%} = 1 − {options.alpha:g}/{m}; margin {result.margin:g} "
            f"{spec.unit}"
        )
        key = result.deciding()
        if key is not None:
            lines.append(
                f"- estimate (the comparison the verdict hinges on): {_fmt(key.estimate, d)} "
                f"[{_fmt(key.low, d)}, {_fmt(key.high, d)}] {spec.unit} — {key.label}, "
                f"{setting_label(*key.setting)}, n = {len(key.seeds)} seeds"
            )
        lines += ["- scale:"] + [f"  - {line}" for line in result.scale]
        lines += [
            "",
            "| setting | comparison | n | estimate | interval | verdict |",
            "|---|---|---:|---:|---|---|",
        ]
        for comp in result.comparisons:
            role = "" if comp.primary else " (secondary: not in the verdict)"
            lines.append(
                f"| {setting_label(*comp.setting)} | {comp.label}{role} | {len(comp.seeds)} | "
                f"{_fmt(comp.estimate, d)} | [{_fmt(comp.low, d)}, {_fmt(comp.high, d)}] "
                f"{comp.method} | {comp.verdict} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def claims_frame(results: list[ClaimResult]) -> pd.DataFrame:
    """Tidy table: one row per comparison (one row for a claim without comparisons)."""
    rows = []
    for result in results:
        base = {
            "claim": result.spec.key,
            "paper": result.spec.paper,
            "statement": result.spec.statement,
            "claim_verdict": result.verdict,
            "reason": result.reason,
            "level": result.level,
            "margin": result.margin,
            "unit": result.spec.unit,
        }
        if not result.comparisons:
            rows.append(base)
            continue
        for comp in result.comparisons:
            rows.append(
                {
                    **base,
                    "dataset": comp.setting[0],
                    "imbalance_ratio": comp.setting[1],
                    "comparison": comp.label,
                    "primary": comp.primary,
                    "n_seeds": len(comp.seeds),
                    "seeds": ";".join(map(str, comp.seeds)),
                    "estimate": comp.estimate,
                    "ci_low": comp.low,
                    "ci_high": comp.high,
                    "ci_method": comp.method,
                    "verdict": comp.verdict,
                }
            )
    columns = [
        "claim",
        "paper",
        "statement",
        "claim_verdict",
        "reason",
        "dataset",
        "imbalance_ratio",
        "comparison",
        "primary",
        "n_seeds",
        "seeds",
        "estimate",
        "ci_low",
        "ci_high",
        "ci_method",
        "level",
        "margin",
        "unit",
        "verdict",
    ]
    return pd.DataFrame(rows).reindex(columns=columns)


__all__ = [
    "CLAIMS",
    "INCONCLUSIVE",
    "NOT_SUPPORTED",
    "NOT_TESTABLE",
    "RULE_TEXT",
    "SUPPORTED",
    "VERDICTS",
    "ClaimResult",
    "ClaimSpec",
    "Comparison",
    "claim_verdict",
    "claims_frame",
    "claims_markdown",
    "comparison_verdict",
    "decide",
    "dispersion_at_final_budget",
    "dispersion_informativeness",
    "evaluate_claims",
    "paired",
    "predicted_vs_snapshot",
    "scale_lines",
    "tidal_vs_uncertainty",
]
