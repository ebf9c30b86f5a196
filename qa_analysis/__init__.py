"""qa-analysis: the statistics behind customer-support quality reporting.

Modules
-------
io
    Loaders for evaluations, calibration ratings and ticket populations
    (CSV, Parquet, DuckDB or a DataFrame), with validation and wide->long.
scorecard
    The scorecard model and evaluation scoring.
reliability
    Inter-rater agreement coefficients, bootstrap intervals, rater calibration.
sampling
    Audit sample sizes, allocation, reproducible stratified draws, coverage.
trends
    Quality over time: period aggregation, control charts, trend tests,
    period comparisons.
compare
    Units compared at one time: funnel plots, shrunken rates for ranking,
    KPIs against targets, the QA score's link with CSAT.
plots
    seaborn figures, each returning a matplotlib Figure.
report, batch
    The report notebooks' content and the papermill batch per region
    (HTML rendering, the run index).
demo
    Seeded synthetic data with documented, planted structure.
errors
    The package's errors (:class:`~qa_analysis.errors.QAError` and its subclasses).

Vocabulary
----------
One name per concept in every module:

* columns: ``criterion`` (criterion id), ``score`` (a rating, or the 0-100
  evaluation score), ``ticket_id`` (the unit rated or sampled; the argument
  naming that column is ``ticket=``), ``rater_id``, ``agent_id``,
  ``evaluation_id``;
* ``confidence`` for a confidence level, ``n_boot`` for bootstrap resamples;
* ``seed`` accepts an int, a :class:`numpy.random.Generator` or None
  everywhere; where an integer is needed (the permanent random numbers of
  :mod:`~qa_analysis.sampling`, the demo generator) a Generator gives one
  integer drawn from [0, 2**63) and None one from fresh entropy;
* ``size=`` names a size measure for sampling with probability proportional
  to size; ``weight=`` names a design weight (1 / inclusion probability);
* an interval of a statistic ``<stat>`` is the pair of columns (or fields)
  ``<stat>_ci_low`` and ``<stat>_ci_high``, e.g. ``pass_rate_ci_low``;
* enumerations are typed ``Literal`` and checked at run time;
* a DataFrame argument that is not a DataFrame is a ``TypeError``; bad data or
  a bad scorecard raise :class:`~qa_analysis.errors.DataError` /
  :class:`~qa_analysis.errors.ScorecardError`, naming rows in one format;
* a single estimate is a small frozen dataclass, a table a DataFrame, and a
  table with scalars about it a frozen result object with a ``table`` field
  (e.g. :class:`~qa_analysis.compare.Shrinkage`); nothing rides in
  ``DataFrame.attrs``;
* arguments whose positional use would be ambiguous are keyword-only.
"""

__version__ = "0.1.0"
