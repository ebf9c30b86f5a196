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
    Period aggregation, control charts, trend tests, comparisons, agent ranking.
plots
    seaborn figures, each returning a matplotlib Figure.
reports
    The papermill batch per region, HTML rendering and the run index.
demo
    Seeded synthetic data with documented, planted structure.
"""

__version__ = "0.1.0"
