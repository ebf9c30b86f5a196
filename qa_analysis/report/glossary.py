"""Plain meaning of the reports' statistics: one-line readings and a glossary (issue 12, item 6).

Each ``plain_*`` function phrases one value in everyday words, to sit next to
the number in a narrative ("alpha 0.18: specialists mostly disagree on
Empathy"). Numbers keep their precision; the jargon is explained, not removed.
:func:`glossary_markdown` lists the terms a report used, each with a fixed
one-line definition (:data:`GLOSSARY`).

Values from the data (criterion names) are escaped with
:func:`qa_analysis.escaping.md_escape`.

Examples
--------
>>> plain_alpha(0.18, "Empathy")
'alpha 0.18: specialists mostly disagree on Empathy'
>>> plain_p_value(0.002, "the weekly pass rate is falling", test="Mann-Kendall")
'Mann-Kendall p = 0.002: the weekly pass rate is falling, not just noisy'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from qa_analysis import settings
from qa_analysis.escaping import md_escape

__all__ = [
    "GLOSSARY",
    "glossary_markdown",
    "plain_alpha",
    "plain_funnel",
    "plain_interval",
    "plain_limits",
    "plain_p_value",
    "plain_paradox",
    "plain_shape",
    "plain_shrunken",
    "plain_status",
]

#: Term -> one-line plain definition (the reports' glossary).
GLOSSARY: dict[str, str] = {
    "Krippendorff's alpha": (
        "agreement between raters beyond what chance would give: 1 = perfect, 0 = no better "
        "than chance, below 0 = systematic disagreement."
    ),
    "AC1 / AC2": (
        "Gwet's agreement coefficients (AC1 for pass/fail criteria, AC2 for scales): like alpha, "
        "but not pulled down when almost every rating is the same."
    ),
    "kappa paradox": (
        "high raw agreement with a low alpha, because nearly every rating falls in one category "
        "and chance agreement is already high."
    ),
    "percent agreement": "share of rater pairs giving the same score, without any chance correction.",
    "confidence interval": (
        "the range of values compatible with the data (95%): a narrow interval is a precise "
        "estimate, a wide one a rough one."
    ),
    "p-value": (
        "how surprising the data would be if nothing had changed; small (below 0.05) means the "
        "pattern is unlikely to be noise alone."
    ),
    "Holm": (
        "a correction for testing many things at once (every segment, every rater x criterion), "
        "so scanning many comparisons does not manufacture findings."
    ),
    "Mann-Kendall": (
        "a test for a steady upward or downward drift in a series, whatever its shape; it is not "
        "used to declare that nothing changed."
    ),
    "Sen's slope": "the typical change per step of a series (median of all pairwise slopes).",
    "change point": (
        "a week, session or month where the level of a series steps up or down and stays."
    ),
    "control limits": (
        "the band a stable process stays within (3 sigma); a point outside it, or a run on one "
        "side, is a signal worth a look."
    ),
    "p' limits": (
        "Laney's control limits, widened for the extra week-to-week variation large volumes show, "
        "so a stable process does not signal every week."
    ),
    "funnel limits": (
        "control limits around the pooled rate that narrow as an agent's audits grow: inside the "
        "funnel, a rate is indistinguishable from the average at that sample size."
    ),
    "shrunken estimate": (
        "an agent's pass rate pulled toward the average in proportion to how few audits it rests "
        "on, so a lucky or unlucky handful of audits does not top or tail a list."
    ),
    "ticket-level estimate": (
        "a rate for all the region's tickets, not only the audited ones: each audit weighted by "
        "how many tickets it stands for, intervals allowing for audits of the same agent being alike."
    ),
    "bias (share of scale range)": (
        "how much higher (lenient) or lower (severe) a rater scores than the reference, as a share "
        "of the criterion's scale."
    ),
    "action id": "a short code that stays the same when the month's report is rerun, for tracking.",
}

_CALIBRATION_TERMS = (
    "Krippendorff's alpha",
    "AC1 / AC2",
    "percent agreement",
    "kappa paradox",
    "bias (share of scale range)",
    "confidence interval",
    "p-value",
    "Holm",
    "change point",
    "Mann-Kendall",
    "action id",
)
_PERFORMANCE_TERMS = (
    "ticket-level estimate",
    "confidence interval",
    "control limits",
    "p' limits",
    "change point",
    "Mann-Kendall",
    "Sen's slope",
    "p-value",
    "Holm",
    "funnel limits",
    "shrunken estimate",
    "action id",
)
_OVERVIEW_TERMS = (
    "ticket-level estimate",
    "confidence interval",
    "funnel limits",
    "Krippendorff's alpha",
    "change point",
    "action id",
)
#: The terms each report uses, in the order its glossary lists them.
REPORT_TERMS: dict[str, tuple[str, ...]] = {
    "calibration_report": _CALIBRATION_TERMS,
    "performance_report": _PERFORMANCE_TERMS,
    "global_overview": _OVERVIEW_TERMS,
}


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def plain_alpha(
    alpha: float, criterion: str | None = None, thresholds: Mapping[str, Any] | None = None
) -> str:
    """``alpha 0.18: specialists mostly disagree on Empathy`` (bands from ``params/defaults.yaml``).

    At or above ``alpha_reliable``: "specialists agree"; at or above
    ``alpha_tentative``: "agree only roughly"; above 0: "mostly disagree";
    0 or below: "agree no better than chance".

    Examples
    --------
    >>> plain_alpha(0.85, "Tone"), plain_alpha(-0.1)
    ('alpha 0.85: specialists agree on Tone', 'alpha -0.10: specialists agree no better than chance')
    """
    th = {**settings.thresholds(), **(thresholds or {})}
    if not _finite(alpha):
        return "alpha not available: too few ratings to measure agreement"
    a = float(alpha)
    if a >= float(th["alpha_reliable"]):
        verb = "agree"
    elif a >= float(th["alpha_tentative"]):
        verb = "agree only roughly"
    elif a > 0:
        verb = "mostly disagree"
    else:
        verb = "agree no better than chance"
    where = f" on {md_escape(criterion)}" if criterion else ""
    return f"alpha {a:.2f}: specialists {verb}{where}"


def plain_p_value(
    p: float, claim: str, *, test: str = "", level: float = 0.05, adjusted: str = ""
) -> str:
    """``Mann-Kendall p = 0.002: <claim>, not just noisy`` (or "could be noise" above ``level``).

    ``claim`` is fixed prose from the caller (not escaped); ``adjusted`` names
    a multiplicity correction ("Holm") quoted with the p-value.

    Examples
    --------
    >>> plain_p_value(0.3, "channels differ", test="chi-square")
    'chi-square p = 0.3: channels differ? could be noise (not significant at 5%)'
    >>> plain_p_value(0.01, "queue technical declined", adjusted="Holm")
    'Holm-adjusted p = 0.01: queue technical declined, not just noisy'
    """
    if not _finite(p):
        return f"{claim}: not testable (too little data)"
    name = f"{adjusted}-adjusted p" if adjusted else "p"
    head = f"{test} {name}".strip()
    if float(p) < level:
        return f"{head} = {float(p):.2g}: {claim}, not just noisy"
    return f"{head} = {float(p):.2g}: {claim}? could be noise (not significant at {level:.0%})"


def plain_shape(shape: str, p: float, what: str, *, down: bool) -> str:
    """What a step / trend / flat verdict on a series means, with the deciding p-value.

    ``shape`` is :attr:`qa_analysis.trends.ChangePoints.shape`; ``down`` whether
    the step or trend goes down; ``what`` fixed prose ("the weekly pass rate").

    Examples
    --------
    >>> plain_shape("trend", 0.002, "the weekly pass rate", down=True)
    'Mann-Kendall p = 0.002: the weekly pass rate is falling, not just noisy'
    >>> plain_shape("step", 0.001, "the weekly pass rate", down=True)
    'change-point p = 0.001: the weekly pass rate moved to a lower level and stayed, not just noisy'
    >>> plain_shape("flat", 0.4, "agreement", down=False)
    'change-point p = 0.4: agreement changed? could be noise (not significant at 5%)'
    """
    if shape == "step":
        level = "lower" if down else "higher"
        claim = f"{what} moved to a {level} level and stayed"
        return plain_p_value(p, claim, test="change-point")
    if shape == "trend":
        way = "falling" if down else "rising"
        return plain_p_value(p, f"{what} is {way}", test="Mann-Kendall")
    return plain_p_value(p, f"{what} changed", test="change-point")


def plain_interval(low: float, high: float, target: float, *, higher_is_better: bool = True) -> str:
    """Whether an interval clears a target, in words ("clearly met", "clearly missed", "too close to call").

    Examples
    --------
    >>> plain_interval(0.86, 0.90, 0.85), plain_interval(0.80, 0.88, 0.85)
    ('clearly met: the whole interval is on the right side of the target', 'too close to call: the interval straddles the target')
    """
    if not (_finite(low) and _finite(high) and _finite(target)):
        return "no verdict: no interval or no target"
    above, below = float(low) > float(target), float(high) < float(target)
    good, bad = (above, below) if higher_is_better else (below, above)
    if good:
        return "clearly met: the whole interval is on the right side of the target"
    if bad:
        return "clearly missed: the whole interval is on the wrong side of the target"
    return "too close to call: the interval straddles the target"


def plain_shrunken(raw: float, shrunk: float, n: int) -> str:
    """Why a shrunken rate differs from the raw one ("82% raw on 6 audits reads as 84%...").

    Examples
    --------
    >>> plain_shrunken(0.5, 0.78, 4)
    'raw 50% on 4 audits, ticket-level estimate after shrinkage 78%: few audits, so pulled toward the average'
    """
    if not (_finite(raw) and _finite(shrunk)):
        return "no estimate: no audits"
    gap = abs(float(shrunk) - float(raw))
    why = (
        "few audits, so pulled toward the average"
        if gap >= 0.05
        else "enough audits for the raw rate to stand"
    )
    return (
        f"raw {float(raw):.0%} on {int(n)} audits, ticket-level estimate after shrinkage "
        f"{float(shrunk):.0%}: {why}"
    )


def plain_status(status: str | None, clear: bool | None) -> str:
    """What a target verdict means: "met (clear)", "met" within the noise, "at risk", "missed".

    ``status`` is :func:`qa_analysis.compare.target_status`'s (met / at risk /
    missed, from the estimate against the target and the amber margin);
    ``clear`` whether the interval excludes the target.

    Examples
    --------
    >>> plain_status("met", True)
    'met (clear): the target is met and the interval excludes it, so not by luck of the sample'
    >>> plain_status("missed", False)
    'missed, within the noise: the estimate misses the target but the interval still reaches it'
    """
    if status not in ("met", "at risk", "missed"):
        return "no verdict: no value or no target"
    if status == "at risk":
        return (
            "at risk: the estimate meets the target by less than the amber margin, "
            "so a small slip would miss it"
        )
    if clear is True:
        how = "the interval excludes it, so not by luck of the sample"
        return f"{status} (clear): the target is {status} and {how}"
    if clear is False:
        verb = "meets" if status == "met" else "misses"
        return (
            f"{status}, within the noise: the estimate {verb} the target but the interval "
            "still reaches it"
        )
    return f"{status}: no interval to tell whether this is beyond the noise"


def plain_limits(limits: str, sigma_z: float | None = None) -> str:
    """What the control chart's limits mean: binomial p limits or Laney's p' limits.

    Examples
    --------
    >>> plain_limits("p'", 1.8)
    "p' limits (sigma_z 1.80): weeks vary more than audit-sampling luck alone, so the band is 1.8 times wider and only weeks unusual even for this process are flagged"
    >>> plain_limits("p")
    'p limits: the band is what audit-sampling luck alone gives; a week outside it is unlikely to be chance'
    """
    if limits == "p'" and _finite(sigma_z):
        z = float(sigma_z)  # type: ignore[arg-type]
        return (
            f"p' limits (sigma_z {z:.2f}): weeks vary more than audit-sampling luck alone, so the "
            f"band is {z:.1f} times wider and only weeks unusual even for this process are flagged"
        )
    return (
        "p limits: the band is what audit-sampling luck alone gives; a week outside it is "
        "unlikely to be chance"
    )


def plain_funnel(below: int, above: int, what: str = "agents") -> str:
    """What the funnel found, in words: how many score differently from the average beyond chance.

    ``what`` is fixed prose ("agents", "regions").

    Examples
    --------
    >>> plain_funnel(0, 0, "regions")
    'funnel: every one of the regions is within what chance gives around the average at its number of audits'
    >>> plain_funnel(2, 1)
    'funnel: 2 agents pass less often and 1 more often than the average by more than chance; the others differ only as much as their number of audits allows'
    """
    b, a = int(below), int(above)
    if b == 0 and a == 0:
        return (
            f"funnel: every one of the {what} is within what chance gives around the average "
            "at its number of audits"
        )
    return (
        f"funnel: {b} {what} pass less often and {a} more often than the average by more than "
        "chance; the others differ only as much as their number of audits allows"
    )


def plain_paradox(criterion: str, agreement: float, alpha: float) -> str:
    """Why a criterion has high agreement but a low alpha (the kappa paradox).

    Examples
    --------
    >>> plain_paradox("Greeting", 0.96, 0.2)
    'Greeting: raters give the same score 96% of the time, but nearly every ticket gets that score, so alpha (0.20) has little to measure; read AC1/AC2, and include harder tickets in calibration'
    """
    agree = f"{float(agreement):.0%}" if _finite(agreement) else "most"
    a = f"{float(alpha):.2f}" if _finite(alpha) else "n/a"
    return (
        f"{md_escape(criterion)}: raters give the same score {agree} of the time, but nearly "
        f"every ticket gets that score, so alpha ({a}) has little to measure; read AC1/AC2, "
        "and include harder tickets in calibration"
    )


def glossary_markdown(report: str | None = None, terms: Iterable[str] | None = None) -> str:
    """The glossary a report ends with: its terms (``REPORT_TERMS[report]`` or ``terms``), one line each.

    Raises
    ------
    KeyError
        For an unknown report or term.

    Examples
    --------
    >>> print(glossary_markdown(terms=["Holm"]))
    **Glossary**
    <BLANKLINE>
    - **Holm**: a correction for testing many things at once (every segment, every rater x criterion), so scanning many comparisons does not manufacture findings.
    """
    names = tuple(terms) if terms is not None else REPORT_TERMS[str(report)]
    lines = ["**Glossary**", ""]
    lines += [f"- **{t}**: {GLOSSARY[t]}" for t in names]  # fixed prose, no data
    return "\n".join(lines)
