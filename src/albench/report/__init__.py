"""Results reporting: statistics, figures, tables and the report builder.

- :mod:`albench.report.metrics` — pure statistics (relative improvement and
  selection effect paired by seed, t / bootstrap / BCa intervals over seeds,
  sampler roles, AUBC, pairwise penalty matrix, ranks, Friedman/Nemenyi, top-x%
  accuracy, AUROC). Definitions: ``docs/metrics.md``.
- :mod:`albench.report.claims` — the papers' claims: paired comparisons,
  Bonferroni intervals and one verdict each (``claims.md``).
- :mod:`albench.report.tables` — Markdown / LaTeX (booktabs) / CSV / HTML tables.
- :mod:`albench.report.figures` — the figures (PNG at 150 dpi and PDF).
- :mod:`albench.report.build` — reads ``summary/*.csv``, ``metrics.json`` and
  ``candidates.csv`` and writes every figure and table.
- :mod:`albench.report.cli` — the ``albench report`` command.

Nothing heavy is imported here, so ``albench --help`` stays fast.
"""
