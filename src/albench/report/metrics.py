"""Statistics of the benchmark's results, each defined once (see ``docs/metrics.md``).

All functions are pure: they take tidy tables (``summary/cycles.csv`` rows) or
arrays and return new tables; nothing is read or written here. A *setting* is
one dataset × imbalance ratio; a *run* is one setting × sampler × seed; a
*budget* is one cycle's number of labeled samples.

Every interval is an interval of a mean over seeds (:class:`IntervalSpec`): the
Student-t interval by default, the percentile bootstrap or BCa on request.
Samplers have a *role* (:func:`sampler_roles`): methods compete; controls and
references are shown apart and kept out of ranks and significance matrices.

Exclusions are never silent: functions that drop rows also return
:class:`Note` records saying what was dropped and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

SETTING = ["dataset", "imbalance_ratio"]
PAIR_KEYS = ["experiment", "dataset", "imbalance_ratio", "seed", "cycle"]
ZERO_SPREAD = 1e-12  # differences whose range is below this count as constant (no t-test)


@dataclass(frozen=True)
class Note:
    """One exclusion or skipped analysis, for ``notes.md``.

    Args:
        scope: the analysis it concerns, e.g. ``"relative improvement"``.
        message: what was dropped or skipped and why.
    """

    scope: str
    message: str


def device_notes(cycles: pd.DataFrame) -> list[Note]:
    """One note per AL chain (setting, seed, sampler) whose cycles ran on different device
    types (e.g. a CPU fallback in the middle of a GPU chain): its numbers mix kernels."""
    if "device" not in cycles:
        return []
    ok = cycles[(cycles["status"] == "ok") & cycles["device"].notna()]
    kinds = ok.assign(kind=ok["device"].astype(str).str.split(":").str[0])
    keys = ["dataset", "imbalance_ratio", "seed", "sampler"]
    notes = []
    for key, chain in kinds.groupby(keys, sort=True):
        if chain["kind"].nunique() > 1:
            dataset, ratio, seed, sampler = key
            devices = ", ".join(
                f"cycle {c}: {d}" for c, d in zip(chain["cycle"], chain["device"], strict=True)
            )
            notes.append(
                Note(
                    "devices",
                    f"{sampler}, {dataset} IR {ratio:g}, seed {seed} ran on mixed device types "
                    f"({devices})",
                )
            )
    return notes


def fit_notes(cycles: pd.DataFrame, criterion: float) -> list[Note]:
    """Whether every cycle's model fits its labeled set (``docs/metrics.md``, Training fit).

    One note with the share of cycles whose eval-mode accuracy on their labeled set
    (``train_fit_accuracy``) reaches ``criterion`` and the lowest value, plus one note
    per cycle below it (sampler, setting, seed, cycle). Rows without the column
    (results written before it existed) give a note saying so.
    """
    scope = "training fit"
    if "train_fit_accuracy" not in cycles or cycles["train_fit_accuracy"].isna().all():
        return [Note(scope, "no cycle recorded its fit on the labeled set (train_fit_accuracy)")]
    fit = cycles.dropna(subset=["train_fit_accuracy"])
    below = fit[fit["train_fit_accuracy"] < criterion]
    lowest = fit.loc[fit["train_fit_accuracy"].idxmin()]
    notes = [
        Note(
            scope,
            f"{len(fit) - len(below)} of {len(fit)} cycles reach eval-mode accuracy >= "
            f"{criterion:g} on their labeled set; lowest {lowest['train_fit_accuracy']:.3f} "
            f"({lowest['sampler']}, {lowest['dataset']} IR {lowest['imbalance_ratio']:g}, "
            f"seed {lowest['seed']}, cycle {lowest['cycle']})",
        )
    ]
    for _, row in below.iterrows():
        notes.append(
            Note(
                scope,
                f"below the fit criterion: {row['sampler']}, {row['dataset']} IR "
                f"{row['imbalance_ratio']:g}, seed {row['seed']}, cycle {row['cycle']}: "
                f"{row['train_fit_accuracy']:.3f}",
            )
        )
    return notes


def setting_label(dataset: str, ratio: float) -> str:
    """``("fashion_mnist", 10.0)`` → ``"fashion_mnist, IR 10"``."""
    return f"{dataset}, IR {float(ratio):g}"


def ok_rows(cycles: pd.DataFrame) -> pd.DataFrame:
    """The rows of a ``cycles.csv`` table whose run finished (``status == "ok"``)."""
    return cycles[cycles["status"] == "ok"].copy()


ROLES = ("method", "control", "reference")


def sampler_roles(
    cycles: pd.DataFrame, fallback=None
) -> tuple[dict[str, str], dict[str, str | None], list[Note]]:
    """Role (method / control / reference) and own random control of every sampler.

    Read from the ``role`` and ``control`` columns of ``cycles.csv`` (the
    cycle writes them into ``metrics.json``): the first non-empty value among a
    sampler's rows. A sampler without a recorded role (results written before
    roles existed) gets ``fallback(name)`` — a ``(role, control)`` pair or None
    — and otherwise ``"method"``; each such case is noted.

    Returns:
        ``(roles, controls, notes)``; ``controls`` maps a sampler to its control's
        name or None.
    """
    roles: dict[str, str] = {}
    controls: dict[str, str | None] = {}
    notes: list[Note] = []
    for sampler in pd.unique(cycles["sampler"]):
        rows = cycles[cycles["sampler"] == sampler]
        role = _first_text(rows, "role")
        control = _first_text(rows, "control")
        if role is None:
            found = fallback(sampler) if fallback is not None else None
            if found is not None:
                role, control = found
                source = "the sampler registry"
            else:
                role, source = "method", "the default"
            notes.append(
                Note("roles", f"{sampler}: no role in cycles.csv; {role!r} taken from {source}")
            )
        if role not in ROLES:
            raise ValueError(f"sampler {sampler!r} has role {role!r}; valid roles: {ROLES}")
        roles[sampler], controls[sampler] = role, control
    return roles, controls, notes


def _first_text(rows: pd.DataFrame, column: str) -> str | None:
    if column not in rows.columns:
        return None
    values = [v for v in rows[column].tolist() if isinstance(v, str) and v.strip()]
    return values[0].strip() if values else None


def order_by_role(samplers: list[str], roles: dict[str, str]) -> list[str]:
    """Methods first (in the given order), then controls and references."""
    methods = [s for s in samplers if roles.get(s, "method") == "method"]
    return methods + [s for s in samplers if s not in methods]


def bootstrap_ci(
    values, n_resamples: int = 10_000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean over seeds.

    Resamples the ``n`` values with replacement ``n_resamples`` times (one
    vectorised draw from ``numpy.random.default_rng(seed)``), takes each
    resample's mean and returns the ``(1 - level)/2`` and ``(1 + level)/2``
    quantiles of those means. With one value the interval is degenerate,
    ``(v, v)``: one seed says nothing about seed-to-seed spread. NaNs are
    ignored; with no values the result is ``(nan, nan)``.

    Args:
        values: per-seed values.
        n_resamples: bootstrap resamples (>= 1).
        level: confidence level in (0, 1).
        seed: seed of the resampling generator (fixed, so reports are reproducible).

    Returns:
        ``(low, high)``.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]  # (n,)
    if data.size == 0:
        return math.nan, math.nan
    if data.size == 1:
        return float(data[0]), float(data[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, data.size, size=(n_resamples, data.size))  # (B, n)
    means = data[idx].mean(axis=1)  # (B,)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


# ----------------------------------------------------------------------------- intervals

INTERVALS = ("t", "bootstrap", "bca")
SMALL_N = 5  # intervals from fewer seeds are labelled as wide (t) or under-covering (bootstrap)
BCA_MIN_N = 30  # BCa from this many seeds on (below, it under-covers like the percentile bootstrap)


def t_interval(values, level: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean over seeds.

    ``mean ± t_{(1+level)/2, n−1} · s/√n`` with s the sample standard deviation
    (ddof 1): exact coverage for normal values, whatever n. Undefined
    ``(nan, nan)`` with fewer than two values; ``(v, v)`` when all values are
    equal (s = 0). NaNs are ignored.

    Args:
        values: per-seed values (or per-seed paired differences).
        level: confidence level in (0, 1).

    Returns:
        ``(low, high)``.
    """
    _check_level(level)
    data = _finite(values)
    if data.size < 2:
        return math.nan, math.nan
    mean = float(data.mean())
    if np.ptp(data) < ZERO_SPREAD:
        return mean, mean
    half = float(stats.t.ppf((1 + level) / 2, data.size - 1) * data.std(ddof=1))
    half /= math.sqrt(data.size)
    return mean - half, mean + half


def bca_interval(
    values, level: float = 0.95, n_resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Bias-corrected and accelerated bootstrap interval of the mean (scipy.stats.bootstrap).

    Second-order accurate, but like every bootstrap it under-covers with few
    values; the report uses it only from :data:`BCA_MIN_N` seeds on. ``(v, v)``
    when all values are equal; ``(nan, nan)`` with fewer than two values.
    """
    _check_level(level)
    data = _finite(values)
    if data.size < 2:
        return math.nan, math.nan
    if np.ptp(data) < ZERO_SPREAD:
        return float(data[0]), float(data[0])
    result = stats.bootstrap(
        (data,),
        np.mean,
        confidence_level=level,
        n_resamples=n_resamples,
        method="BCa",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@dataclass(frozen=True)
class IntervalSpec:
    """How every interval over seeds is computed (``report.interval``; ``docs/metrics.md``).

    Attributes:
        method: ``"t"`` (Student t, the default), ``"bootstrap"`` (percentile
            bootstrap; at n = 3 it is about [min, max] and covers ≈ 75 %) or
            ``"bca"`` (BCa bootstrap from :data:`BCA_MIN_N` seeds, t below).
        level: confidence level.
        n_resamples: bootstrap resamples (bootstrap and BCa).
        seed: seed of the bootstrap generator.
    """

    method: str = "t"
    level: float = 0.95
    n_resamples: int = 10_000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in INTERVALS:
            raise ValueError(f"interval {self.method!r} is not one of {', '.join(INTERVALS)}")
        _check_level(self.level)
        if self.n_resamples < 1:
            raise ValueError(f"n_resamples must be >= 1, got {self.n_resamples}")

    def used(self, n: int) -> str:
        """The method actually used for n values (BCa falls back to t below BCA_MIN_N)."""
        return "t" if self.method == "bca" and n < BCA_MIN_N else self.method

    def compute(self, values) -> tuple[float, float, str]:
        """``(low, high, method used)`` of the mean of ``values``."""
        data = _finite(values)
        method = self.used(data.size)
        if method == "t":
            low, high = t_interval(data, self.level)
        elif method == "bca":
            low, high = bca_interval(data, self.level, self.n_resamples, self.seed)
        else:
            low, high = bootstrap_ci(data, self.n_resamples, self.level, self.seed)
        return low, high, method

    def at_level(self, level: float) -> IntervalSpec:
        """The same method at another level (Bonferroni-adjusted claim intervals)."""
        return IntervalSpec(self.method, level, self.n_resamples, self.seed)

    def describe(self, n_min: int | None = None, n_max: int | None = None) -> str:
        """What the interval is, with the seed count and a warning below SMALL_N seeds.

        ``describe(3, 3)`` → ``"95% t interval over seeds, n = 3 (fewer than 5 seeds:
        wide)"``.
        """
        name = {
            "t": "t interval",
            "bootstrap": "percentile-bootstrap interval",
            "bca": f"BCa bootstrap interval (t interval below {BCA_MIN_N} seeds)",
        }[self.method]
        text = f"{self.level:.0%} {name} over seeds"
        if n_min is None or n_max is None:
            return text
        n = f"n = {n_min}" if n_min == n_max else f"n = {n_min}–{n_max}"
        text += f", {n}"
        if n_min < 2:
            return (
                text + " (one seed: no interval)"
                if self.method != "bootstrap"
                else (text + " (one seed: degenerate, the value itself)")
            )
        if n_min < SMALL_N:
            warning = "under-covers, about [min, max]" if self.method == "bootstrap" else "wide"
            return f"{text} (fewer than {SMALL_N} seeds: {warning})"
        return text


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")


def _finite(values) -> np.ndarray:
    data = np.asarray(values, dtype=float).ravel()
    return data[~np.isnan(data)]


def summarise(
    frame: pd.DataFrame, by: list[str], value: str, interval: IntervalSpec | None = None
) -> pd.DataFrame:
    """Mean, sample std (ddof 1), interval and seed count of ``value`` per group.

    Args:
        frame: one row per seed (and group).
        by: grouping columns.
        value: the column summarised.
        interval: how the interval of the mean is computed (default: 95 % t).

    Returns:
        ``by`` columns plus ``mean``, ``std`` (NaN with one seed), ``ci_low``,
        ``ci_high``, ``ci_method`` (the method used), ``n_seeds`` and ``seeds``
        (``"0;1;2"``).
    """
    spec = interval or IntervalSpec()
    rows = []
    for key, group in frame.groupby(by, sort=True, dropna=False):
        values = group[value].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        low, high, used = spec.compute(values)
        rows.append(
            {
                **dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                "mean": float(np.mean(values)) if values.size else math.nan,
                "std": float(np.std(values, ddof=1)) if values.size > 1 else math.nan,
                "ci_low": low,
                "ci_high": high,
                "ci_method": used,
                "n_seeds": int(values.size),
                "seeds": ";".join(str(s) for s in sorted(group["seed"].tolist())),
            }
        )
    columns = [*by, "mean", "std", "ci_low", "ci_high", "ci_method", "n_seeds", "seeds"]
    return pd.DataFrame(rows, columns=columns)


def paired_differences(
    cycles: pd.DataFrame,
    pairs: dict[str, str],
    metric: str = "accuracy",
    scope: str = "relative improvement",
) -> tuple[pd.DataFrame, list[Note]]:
    """Per-seed relative improvement and difference of each sampler over its partner.

    For every finished row of a sampler in ``pairs``, the partner row is the
    finished row of ``pairs[sampler]`` with the same experiment, dataset, IR,
    seed and cycle: ``ri = 100 * (acc - acc_partner) / acc_partner`` (%) and
    ``delta = 100 * (acc - acc_partner)`` (accuracy points). Rows without a
    finished partner, or whose partner's metric is 0, are excluded and noted.

    Args:
        cycles: a ``cycles.csv`` table.
        pairs: sampler → partner (e.g. every sampler → ``random``, or a method →
            its own random control).
        metric: ``accuracy`` or ``balanced_accuracy``.
        scope: the analysis named in the notes.

    Returns:
        ``(per_seed, notes)``; ``per_seed`` has the key columns, ``sampler``,
        ``partner``, ``num_labeled``, ``value``, ``partner_value``, ``ri``, ``delta``.
    """
    if metric not in cycles.columns:
        raise ValueError(f"unknown metric {metric!r}; valid: accuracy, balanced_accuracy")
    ok = ok_rows(cycles)
    columns = [*PAIR_KEYS, "sampler", "partner", "num_labeled", "value", "partner_value"]
    columns += ["ri", "delta"]
    notes: list[Note] = []
    parts = []
    for sampler, partner in pairs.items():
        own = ok[ok["sampler"] == sampler].rename(columns={metric: "value"})
        if own.empty:
            continue
        other = ok[ok["sampler"] == partner][[*PAIR_KEYS, metric]]
        merged = own.merge(
            other.rename(columns={metric: "partner_value"}), on=PAIR_KEYS, how="left"
        )
        merged["partner"] = partner
        lacking = merged["partner_value"].isna()
        for row in merged[lacking].itertuples():
            notes.append(
                Note(
                    scope,
                    (
                        f"{setting_label(row.dataset, row.imbalance_ratio)}: {sampler} seed "
                        f"{row.seed} cycle {row.cycle} excluded — its {partner} partner (same "
                        "seed and cycle) did not finish"
                    ),
                )
            )
        zero = ~lacking & (merged["partner_value"] == 0)
        for row in merged[zero].itertuples():
            notes.append(
                Note(
                    scope,
                    (
                        f"{setting_label(row.dataset, row.imbalance_ratio)}: {sampler} seed "
                        f"{row.seed} cycle {row.cycle} excluded — {partner} {metric} is 0 "
                        "(ratio undefined)"
                    ),
                )
            )
        parts.append(merged[~lacking & ~zero])
    if not parts:
        return pd.DataFrame(columns=columns), notes
    merged = pd.concat(parts, ignore_index=True)
    merged["ri"] = 100.0 * (merged["value"] - merged["partner_value"]) / merged["partner_value"]
    merged["delta"] = 100.0 * (merged["value"] - merged["partner_value"])
    return merged[columns].reset_index(drop=True), notes


def paired_improvement(
    cycles: pd.DataFrame, metric: str = "accuracy", baseline: str = "random"
) -> tuple[pd.DataFrame, list[Note]]:
    """Relative improvement and difference of every other sampler over the baseline, by seed.

    :func:`paired_differences` with every sampler ≠ ``baseline`` paired with
    ``baseline``; a note says so when the baseline is not in the results.
    """
    if metric not in cycles.columns:
        raise ValueError(f"unknown metric {metric!r}; valid: accuracy, balanced_accuracy")
    if baseline not in set(cycles["sampler"]):
        note = Note(
            "relative improvement",
            f"no {baseline!r} sampler in the results: relative improvement cannot be computed",
        )
        empty, _ = paired_differences(cycles.iloc[:0], {}, metric)
        return empty, [note]
    pairs = {s: baseline for s in pd.unique(cycles["sampler"]) if s != baseline}
    return paired_differences(cycles, pairs, metric)


def improvement_curves(
    per_seed: pd.DataFrame, interval: IntervalSpec | None = None
) -> pd.DataFrame:
    """Mean over seeds (with interval) of RI and Δ per setting × sampler × cycle.

    Args:
        per_seed: the output of :func:`paired_differences` / :func:`paired_improvement`.
        interval: how intervals are computed (default: 95 % t).

    Returns:
        One row per dataset × IR × sampler × cycle with ``partner``, ``num_labeled``,
        ``ri_mean``, ``ri_std``, ``ri_ci_low``, ``ri_ci_high``, ``delta_mean``,
        ``delta_std``, ``delta_ci_low``, ``delta_ci_high``, ``ci_method``,
        ``n_seeds``, ``seeds``.
    """
    by = [*SETTING, "sampler", "cycle"]
    parts = []
    for value in ("ri", "delta"):
        part = summarise(per_seed, by, value, interval)
        part = part.rename(
            columns={c: f"{value}_{c}" for c in ("mean", "std", "ci_low", "ci_high")}
        )
        parts.append(part)
    out = parts[0].merge(parts[1].drop(columns=["n_seeds", "seeds", "ci_method"]), on=by)
    extra = (
        per_seed.groupby(by)
        .agg(num_labeled=("num_labeled", "median"), partner=("partner", "first"))
        .reset_index()
    )
    out = out.merge(extra, on=by)
    first = [*by, "partner", "num_labeled"]
    return out[first + [c for c in out.columns if c not in first]]


def aubc(budgets, values) -> float:
    """Area under the budget curve, normalised to a mean value over the budget range.

    ``AUBC = (1/(b_K − b_0)) Σ_k (b_k − b_{k−1}) (a_{k−1} + a_k)/2`` with the
    budgets sorted; for accuracies in [0, 1] the result is in [0, 1]. It is
    undefined (NaN) with fewer than two distinct budgets.

    Args:
        budgets: labeled-set sizes ``b_0 < … < b_K`` (any order).
        values: the accuracy at each budget.

    Returns:
        The normalised area.
    """
    b = np.asarray(budgets, dtype=float)
    a = np.asarray(values, dtype=float)
    if b.shape != a.shape:
        raise ValueError(f"budgets {b.shape} and values {a.shape} differ in shape")
    order = np.argsort(b, kind="stable")
    b, a = b[order], a[order]
    if b.size < 2 or b[-1] == b[0]:
        return math.nan
    return float(np.sum(np.diff(b) * (a[1:] + a[:-1]) / 2) / (b[-1] - b[0]))


def aubc_per_run(cycles: pd.DataFrame, metric: str = "accuracy") -> tuple[pd.DataFrame, list[Note]]:
    """AUBC of every run whose cycles all finished.

    A run (setting × sampler × seed) with a missing or failed cycle is
    excluded — a shorter curve covers a different budget range — and noted.

    Returns:
        ``(frame, notes)``; ``frame`` has dataset, imbalance_ratio, sampler,
        seed, ``aubc``, ``first_budget``, ``last_budget``.
    """
    rows, notes = [], []
    for (dataset, ratio, sampler, seed), run in cycles.groupby([*SETTING, "sampler", "seed"]):
        if (run["status"] != "ok").any():
            bad = run[run["status"] != "ok"]
            notes.append(
                Note(
                    "AUBC",
                    (
                        f"{setting_label(dataset, ratio)}: {sampler} seed {seed} excluded — cycle(s) "
                        f"{', '.join(map(str, bad['cycle']))} {'/'.join(sorted(set(bad['status'])))}"
                    ),
                )
            )
            continue
        value = aubc(run["num_labeled"], run[metric])
        if math.isnan(value):
            notes.append(
                Note(
                    "AUBC",
                    f"{setting_label(dataset, ratio)}: {sampler} seed {seed} "
                    "has fewer than two budgets; AUBC undefined",
                )
            )
            continue
        rows.append(
            {
                "dataset": dataset,
                "imbalance_ratio": ratio,
                "sampler": sampler,
                "seed": seed,
                "aubc": value,
                "first_budget": run["num_labeled"].min(),
                "last_budget": run["num_labeled"].max(),
            }
        )
    columns = [*SETTING, "sampler", "seed", "aubc", "first_budget", "last_budget"]
    return pd.DataFrame(rows, columns=columns), notes


@dataclass
class PenaltyResult:
    """The pairwise penalty matrix and the tests behind it.

    Attributes:
        matrix: ``P[i, j]`` (rows i, columns j, sampler order of the input),
            summed over settings; entry = number of settings' worth of budgets
            at which i beat j significantly. Its maximum is ``n_settings``.
        tests: one row per setting × budget × pair with n, mean difference,
            t, p and the winner (empty when not significant).
        n_settings: settings that contributed.
        notes: skipped tests.
    """

    matrix: pd.DataFrame
    tests: pd.DataFrame
    n_settings: int
    notes: list[Note] = field(default_factory=list)

    def column_means(self) -> pd.Series:
        """Mean of each column over the other samplers: how often a sampler was beaten."""
        k = len(self.matrix)
        if k < 2:
            return pd.Series(math.nan, index=self.matrix.columns)
        return self.matrix.sum(axis=0) / (k - 1)


def penalty_matrix(
    cycles: pd.DataFrame,
    metric: str = "accuracy",
    alpha: float = 0.05,
    include_initial: bool = False,
) -> PenaltyResult:
    """Pairwise penalty matrix (Ash et al., BADGE, ICLR 2020; Lüth et al., NeurIPS 2023).

    For each setting, each budget (by default every cycle after the first:
    at cycle 0 all samplers share the initial labeled set) and each pair of
    samplers i, j with at least two shared finished seeds, a two-sided paired
    t-test (df = n − 1) compares their accuracies over the shared seeds. If
    p < ``alpha``, the better sampler (by mean difference) w earns
    ``P[w, l] += 1/N_b``, where ``N_b`` is the number of budgets of that
    setting. A pair whose per-seed differences are constant (range < 1e-12)
    has an undefined t statistic and earns nothing. No multiple-comparison
    correction is applied (as in BADGE).

    Args:
        cycles: a ``cycles.csv`` table.
        metric: ``accuracy`` or ``balanced_accuracy``.
        alpha: significance level.
        include_initial: also test the first cycle's budget.

    Returns:
        A :class:`PenaltyResult`.
    """
    samplers = list(pd.unique(cycles["sampler"]))
    matrix = pd.DataFrame(0.0, index=samplers, columns=samplers)
    ok = ok_rows(cycles)
    tests, notes, n_settings = [], [], 0
    for (dataset, ratio), group in ok.groupby(SETTING):
        levels = sorted(group["cycle"].unique())
        if not include_initial:
            levels = [c for c in levels if c != min(cycles["cycle"])]
        if not levels:
            notes.append(
                Note(
                    "penalty matrix",
                    f"{setting_label(dataset, ratio)}: no budget "
                    "after the initial one; setting skipped",
                )
            )
            continue
        n_settings += 1
        weight = 1.0 / len(levels)
        for cycle in levels:
            at = group[group["cycle"] == cycle]
            wide = at.pivot_table(
                index="seed", columns="sampler", values=metric
            )  # (seeds, samplers)
            budget = int(at["num_labeled"].median())
            for i, j in combinations([s for s in samplers if s in wide.columns], 2):
                pair = wide[[i, j]].dropna()
                row = {
                    "dataset": dataset,
                    "imbalance_ratio": ratio,
                    "cycle": cycle,
                    "num_labeled": budget,
                    "sampler_i": i,
                    "sampler_j": j,
                    "n": len(pair),
                    "mean_diff": math.nan,
                    "t": math.nan,
                    "p": math.nan,
                    "winner": "",
                }
                if len(pair) < 2:
                    notes.append(
                        Note(
                            "penalty matrix",
                            (
                                f"{setting_label(dataset, ratio)} cycle {cycle}: {i} vs {j} has "
                                f"{len(pair)} shared seed(s); a paired t-test needs 2"
                            ),
                        )
                    )
                    tests.append(row)
                    continue
                diff = (pair[i] - pair[j]).to_numpy()  # (n,)
                row["mean_diff"] = float(diff.mean())
                if np.ptp(diff) < ZERO_SPREAD:
                    tests.append(row)
                    continue
                result = stats.ttest_rel(pair[i], pair[j])
                row["t"], row["p"] = float(result.statistic), float(result.pvalue)
                if row["p"] < alpha:
                    winner, loser = (i, j) if row["mean_diff"] > 0 else (j, i)
                    row["winner"] = winner
                    matrix.loc[winner, loser] += weight
                tests.append(row)
    test_columns = [
        *SETTING,
        "cycle",
        "num_labeled",
        "sampler_i",
        "sampler_j",
        "n",
        "mean_diff",
        "t",
        "p",
        "winner",
    ]
    return PenaltyResult(matrix, pd.DataFrame(tests, columns=test_columns), n_settings, notes)


def block_table(
    frame: pd.DataFrame, value: str, samplers: list[str] | None = None
) -> tuple[pd.DataFrame, list[Note]]:
    """Settings × samplers table of the mean of ``value`` over seeds, complete rows only.

    Samplers with no value anywhere are dropped; then settings lacking any
    remaining sampler are dropped (both noted), so ranks compare like with like.

    Returns:
        ``(table, notes)``; index = setting labels, columns = samplers.
    """
    means = frame.groupby([*SETTING, "sampler"])[value].mean().reset_index()
    means["setting"] = [
        setting_label(d, r) for d, r in zip(means["dataset"], means["imbalance_ratio"], strict=True)
    ]
    table = means.pivot(index="setting", columns="sampler", values=value)
    order = [s for s in (samplers or list(pd.unique(frame["sampler"]))) if s in table.columns]
    table = table[order]
    notes = []
    empty = [s for s in table.columns if table[s].isna().all()]
    for sampler in empty:
        notes.append(Note("ranks", f"{sampler} has no {value} in any setting; not ranked"))
    table = table.drop(columns=empty)
    incomplete = table.index[table.isna().any(axis=1)]
    for setting in incomplete:
        lacking = ", ".join(table.columns[table.loc[setting].isna()])
        notes.append(Note("ranks", f"{setting} dropped from ranking: no {value} for {lacking}"))
    return table.drop(index=incomplete), notes


def average_ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.Series:
    """Mean rank of each column over the rows (rank 1 = best; ties get the average rank).

    Args:
        scores: blocks (rows) × samplers (columns), no NaN.
        higher_is_better: rank the largest value first.

    Returns:
        Mean rank per sampler, in column order.
    """
    if scores.isna().any().any():
        raise ValueError("scores contain NaN; use block_table() to keep complete blocks")
    ranks = scores.rank(axis=1, ascending=not higher_is_better, method="average")
    return ranks.mean(axis=0)


@dataclass
class FriedmanResult:
    """Friedman test over settings and its Nemenyi post-hoc (Demšar, JMLR 2006).

    Attributes:
        ran: whether the test was run.
        reason: why it was skipped (empty when it ran).
        n_blocks, n_groups: settings and samplers compared.
        ranks: average rank per sampler (1 = best).
        statistic, pvalue: Friedman χ² and its p-value.
        posthoc: Nemenyi p-values (samplers × samplers).
        critical_difference: Nemenyi CD = q_α √(k(k+1)/(6N)).
    """

    ran: bool
    reason: str
    n_blocks: int
    n_groups: int
    ranks: pd.Series
    statistic: float = math.nan
    pvalue: float = math.nan
    posthoc: pd.DataFrame | None = None
    critical_difference: float = math.nan


MIN_BLOCKS = 3
MIN_GROUPS = 3


def nemenyi_cd(k: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: q_α √(k(k+1)/(6N)).

    ``q_α`` is the studentized range quantile (k groups, infinite df) over √2,
    e.g. 2.344 for k = 3 and 3.164 for k = 10 at α = 0.05 (Demšar 2006, Table 5a).
    """
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6 * n_blocks)))


def friedman_test(scores: pd.DataFrame, alpha: float = 0.05) -> FriedmanResult:
    """Friedman test across settings (blocks = rows) on a complete score table.

    Skipped (``ran=False`` with the reason) with fewer than 3 settings or 3
    samplers: with 2 blocks every ranking is nearly equally likely and the χ²
    approximation is meaningless; with 2 samplers a paired test applies instead.

    Args:
        scores: settings × samplers, higher = better, no NaN (see :func:`block_table`).
        alpha: level of the Nemenyi critical difference.

    Returns:
        A :class:`FriedmanResult`.
    """
    n_blocks, k = scores.shape
    ranks = average_ranks(scores) if n_blocks else pd.Series(dtype=float)
    if n_blocks < MIN_BLOCKS:
        reason = (
            f"only {n_blocks} complete setting(s) (dataset × IR); the Friedman test and "
            f"critical-difference diagram need at least {MIN_BLOCKS}"
        )
        return FriedmanResult(False, reason, n_blocks, k, ranks)
    if k < MIN_GROUPS:
        reason = f"only {k} sampler(s); the Friedman test needs at least {MIN_GROUPS}"
        return FriedmanResult(False, reason, n_blocks, k, ranks)
    import scikit_posthocs as sp

    statistic, pvalue = stats.friedmanchisquare(*(scores[c].to_numpy() for c in scores.columns))
    posthoc = sp.posthoc_nemenyi_friedman(scores.reset_index(drop=True))
    posthoc.index, posthoc.columns = list(scores.columns), list(scores.columns)
    return FriedmanResult(
        True,
        "",
        n_blocks,
        k,
        ranks,
        float(statistic),
        float(pvalue),
        posthoc,
        nemenyi_cd(k, n_blocks, alpha),
    )


def top_fraction_accuracy(scores, correct, fractions) -> np.ndarray:
    """Accuracy of the model on the top-x fraction of candidates ranked by a score.

    Candidates are sorted by decreasing score (ties keep their input order);
    for each fraction x the first ``max(1, ceil(x·n))`` are taken and the mean
    of ``correct`` over them is returned. Lower accuracy = the score finds the
    samples the model gets wrong (dispersion paper, Fig. 3).

    Args:
        scores: (n,) informativeness, higher = more informative.
        correct: (n,) whether the model's prediction is right.
        fractions: fractions in (0, 1].

    Returns:
        (len(fractions),) accuracies.
    """
    s = np.asarray(scores, dtype=float)
    c = np.asarray(correct, dtype=float)
    f = np.asarray(fractions, dtype=float)
    if s.shape != c.shape or s.ndim != 1 or s.size == 0:
        raise ValueError(f"scores {s.shape} and correct {c.shape} must be equal non-empty 1-D")
    if np.any((f <= 0) | (f > 1)):
        raise ValueError(f"fractions must be in (0, 1], got {f.min()}..{f.max()}")
    order = np.argsort(-s, kind="stable")  # (n,)
    hits = np.cumsum(c[order])  # (n,)
    k = np.maximum(1, np.ceil(f * s.size - 1e-9).astype(int))  # (F,)
    return hits[k - 1] / k


def auroc(scores, positive) -> float:
    """AUROC of ``scores`` for ranking positives above negatives (Mann–Whitney U / n₁n₀).

    Ties count one half. NaN when either class is empty.
    """
    s = np.asarray(scores, dtype=float)
    pos = np.asarray(positive, dtype=bool)
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = stats.rankdata(s)  # (n,)
    u = ranks[pos].sum() - n1 * (n1 + 1) / 2
    return float(u / (n1 * n0))


__all__ = [
    "BCA_MIN_N",
    "INTERVALS",
    "ROLES",
    "SETTING",
    "SMALL_N",
    "FriedmanResult",
    "IntervalSpec",
    "Note",
    "PenaltyResult",
    "aubc",
    "aubc_per_run",
    "auroc",
    "average_ranks",
    "bca_interval",
    "block_table",
    "bootstrap_ci",
    "friedman_test",
    "improvement_curves",
    "nemenyi_cd",
    "ok_rows",
    "order_by_role",
    "paired_differences",
    "paired_improvement",
    "penalty_matrix",
    "sampler_roles",
    "setting_label",
    "summarise",
    "t_interval",
    "top_fraction_accuracy",
]
