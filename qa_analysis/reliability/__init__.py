"""Inter-rater reliability: agreement coefficients, bootstrap intervals, rater calibration.

Modules: :mod:`~qa_analysis.reliability.alpha` (Krippendorff's alpha),
:mod:`~qa_analysis.reliability.chance` (Gwet's AC1/AC2, Brennan-Prediger,
Fleiss, percent agreement), :mod:`~qa_analysis.reliability.kappa` (Cohen),
:mod:`~qa_analysis.reliability.icc` (intraclass correlations),
:mod:`~qa_analysis.reliability.tables` (per-criterion and per-session tables,
verdicts), :mod:`~qa_analysis.reliability.calibration` (raters against the
expert, the discussion list), on a shared counts-and-patterns engine
(``_engine``) and the multinomial bootstrap (``bootstrap``). Every public name
is importable from :mod:`qa_analysis.reliability` itself.

Every function takes a tidy long table, one row per rating, plus the names of
the unit, rater and score columns (defaults: the calibration table's
``ticket_id``, ``rater_id``, ``score``). A missing score (NaN) is a
missing rating. Pass ``categories=`` (for example ``scorecard.categories(cid)``)
so that scale levels nobody used still count (they matter for Gwet's AC1/AC2,
Brennan-Prediger and the weights). The per-criterion tables
(:func:`agreement_by_item`, :func:`rater_calibration`, :func:`disagreements`)
take ``scorecard=`` or ``categories=`` (one list for every criterion, or a
mapping criterion -> list); without either, the scale (and the level of
measurement) is guessed from the values seen and the row's ``note`` says so.

Method
------
One vectorised core serves every coefficient:

1. The long table is turned into integer codes (``pd.factorize`` or, for
   integer ids, a direct ``np.bincount`` mapping) and a *unit x category count
   matrix* ``N`` (``N[u, c]`` = number of raters who gave unit ``u`` category
   ``c``), built with one ``np.bincount`` on ``u * C + code``.
2. Units are compressed to their distinct rating patterns (distinct rows of
   ``N``; at most a few hundred on QA scales with a handful of raters), with a
   multiplicity ``count[p]``.
3. Each coefficient is a smooth function ``g`` of *sums over units of per-unit
   features* ``F[p]`` (for Krippendorff's alpha the unit's contribution to the
   coincidence matrix, ``(n n' - diag n) / (m - 1)``; for Gwet, Fleiss and
   Brennan-Prediger the unit's observed agreement and category shares; for the
   ICC the unit's row sums and squares). The point estimate is
   ``g(count @ F)``. With many categories (say 101 distinct scores) the
   ``C x C`` coincidence contributions are kept sparse, and interval, nominal
   and ratio alpha switch to compact sufficient statistics (for interval,
   ``m_u, sum x, sum x^2``), so memory stays linear in the number of ratings.
4. Bootstrap (percentile intervals, units resampled with replacement): a
   resample of ``n`` units is a multinomial draw of pattern multiplicities with
   probabilities ``count / n`` -- exactly the distribution of pattern counts
   under resampling units -- so ``B`` resamples are one ``(B x P)`` weight
   matrix and one product ``W @ F``; the cost does not grow with the number
   of units. When patterns are nearly as many as units (many distinct values),
   units are resampled by index instead (``bootstrap="units"``), in blocks of
   resamples so memory stays bounded; both are selectable with
   ``bootstrap="patterns"|"units"|"auto"`` (``auto``: patterns when there are
   at least 8 units per pattern). Both resample units; tests check that their
   replicate distributions agree. Intervals are seeded (``seed``: an int,
   default 0, a numpy ``Generator`` or None) and reproducible; resamples on
   which a coefficient is undefined are dropped and counted in ``note``. The
   confidence level is ``confidence`` (None: no interval) and the number of
   resamples ``n_boot`` (default ``thresholds.n_boot`` of
   ``params/defaults.yaml``).

Undefined estimates (no pairable ratings, a single category used, one unit)
are NaN with an explanatory ``note``; no warnings are emitted. Problems with
the data (a missing column, a rater who rated the same unit twice, a value off
the scale) raise :class:`qa_analysis.errors.DataError` naming the unit, rater
and rows; a table that is not a DataFrame is a ``TypeError``.
Error messages refer to rows of the table you passed: by position (``rows 3,
7``) when its index is the default ``RangeIndex``, by index label (``rows with
index labels 'a', 'b'``, for ``data.loc``) when the index is unique, and by
position (``rows at positions 3, 7``, for ``data.iloc``) when labels repeat.
Values are shown as plain Python values (``9``, ``'tone'``).

References
----------
.. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
   Annenberg School for Communication, University of Pennsylvania.
.. [2] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability (4th ed.).
   Advanced Analytics, LLC.
.. [3] Fleiss, J. L. (1971). Measuring nominal scale agreement among many
   raters. Psychological Bulletin, 76(5), 378-382.
.. [4] Cohen, J. (1960). A coefficient of agreement for nominal scales.
   Educational and Psychological Measurement, 20, 37-46; Cohen, J. (1968).
   Weighted kappa. Psychological Bulletin, 70(4), 213-220.
.. [5] Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: some uses,
   misuses, and alternatives. Educational and Psychological Measurement, 41,
   687-699.
.. [6] Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in
   assessing rater reliability. Psychological Bulletin, 86(2), 420-428;
   McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some
   intraclass correlation coefficients. Psychological Methods, 1(1), 30-46.
.. [7] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
   Chapman & Hall (percentile intervals).
.. [8] MaestroQA. Calibration alignment score: per criterion
   ``1 - |difference| / (scale range)``, weighted as in the rubric.
"""

from qa_analysis.reliability._engine import LEVELS, Agreement, Level, Weights
from qa_analysis.reliability.alpha import krippendorff_alpha
from qa_analysis.reliability.bootstrap import BootstrapMethod
from qa_analysis.reliability.calibration import (
    disagreements,
    rater_calibration,
    rater_calibration_by_item,
)
from qa_analysis.reliability.chance import (
    brennan_prediger,
    fleiss_kappa,
    fleiss_kappa_by_category,
    gwet_ac,
    percent_agreement,
)
from qa_analysis.reliability.icc import ICC_FORMS, ICCForm, icc
from qa_analysis.reliability.kappa import cohen_kappa
from qa_analysis.reliability.tables import (
    agreement_by_item,
    agreement_over_sessions,
    alpha_verdict,
)

__all__ = [
    "ICC_FORMS",
    "LEVELS",
    "Agreement",
    "BootstrapMethod",
    "ICCForm",
    "Level",
    "Weights",
    "agreement_by_item",
    "agreement_over_sessions",
    "alpha_verdict",
    "brennan_prediger",
    "cohen_kappa",
    "disagreements",
    "fleiss_kappa",
    "fleiss_kappa_by_category",
    "gwet_ac",
    "icc",
    "krippendorff_alpha",
    "percent_agreement",
    "rater_calibration",
    "rater_calibration_by_item",
]
