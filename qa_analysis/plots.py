"""seaborn figures for the reports, each a function returning a matplotlib Figure.

Every function takes the table produced by the library (or by
:mod:`qa_analysis.report`) and returns a new
:class:`matplotlib.figure.Figure`. Nothing here changes global state: no
``plt.show()``, no style or rcParams changes at import, no figure is closed
(the caller owns the returned figure). The figures are :class:`ReportFigure`
objects, which carry a PNG representation: in Jupyter a figure that is a
cell's value (or passed to ``IPython.display.display``) shows as an image
without ``%matplotlib inline`` and without changing the matplotlib backend.

Thresholds drawn on the figures (alpha bands, the bias flag) are arguments;
left at ``None`` they are the values of ``params/defaults.yaml``
(:mod:`qa_analysis.settings`).

Empty input: every function returns an *empty-state* figure (the axes hidden
and a centred message such as "No calibration sessions this month") rather
than raising, so a report cell never fails for a region without data. A
table missing a required column is a ``ValueError`` naming the column.

Figures are modest in size (default about 8 x 4 inches at the default dpi)
to keep the rendered HTML small.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import Formatter
from matplotlib.transforms import blended_transform_factory

from qa_analysis import settings
from qa_analysis._checks import require_columns as _require

__all__ = [
    "EMPTY_LABEL",
    "MISSING_LABEL",
    "PercentTicks",
    "ReportFigure",
    "agreement_forest",
    "audits_per_agent",
    "breakdown",
    "control_chart",
    "csat_box",
    "deviation_heatmap",
    "drift",
    "funnel",
    "history",
    "pareto",
    "rater_bias",
    "region_comparison",
]

#: gid of the text artist of an empty-state figure (tests look it up).
EMPTY_LABEL = "empty-state"
#: gid of the "MISSING" text drawn where a region or group has no value.
MISSING_LABEL = "missing-value"
_VERDICT_COLORS = {
    "reliable": "#2a9d8f",
    "tentative": "#e9c46a",
    "unreliable": "#e76f51",
    "undefined": "#9e9e9e",
}
_BIAS_COLORS = {
    "lenient": "#e76f51",
    "severe": "#457b9d",
    "aligned": "#8d99ae",
    "undefined": "#c0c0c0",
}
_STATUS_COLORS = {"met": "#2a9d8f", "at risk": "#e9c46a", "missed": "#e76f51"}


@contextmanager
def _quiet_seaborn() -> Iterator[None]:
    """Silence seaborn's matplotlib deprecation warnings for one call.

    seaborn 0.13.2 triggers matplotlib 3.11 deprecations (``vert=``,
    ``Colormap.set_bad``); other warnings pass.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        yield


class ReportFigure(Figure):
    """A matplotlib Figure that displays itself in Jupyter (a PNG repr).

    IPython shows an object with ``_repr_png_`` as an image, so a figure
    returned by this module displays in a notebook whatever the matplotlib
    backend, with no ``%matplotlib inline``. Everything else is a plain
    :class:`matplotlib.figure.Figure`.

    Examples
    --------
    >>> fig = ReportFigure(figsize=(2, 1))
    >>> fig._repr_png_()[1:4]
    b'PNG'
    """

    def _repr_png_(self) -> bytes:
        # Labels come from the data (channel, criterion, rater names): drawn as
        # literal text, never as mathtext, so "$" neither formats nor crashes.
        with matplotlib.rc_context({"text.parse_math": False}):
            for text in self.findobj(Text):
                text.set_parse_math(False)
            buf = io.BytesIO()
            self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()

    def __repr__(self) -> str:
        w, h = self.get_size_inches()
        return f"<ReportFigure {w:g}x{h:g} in, {len(self.axes)} axes>"


def _thresholds(thresholds: Mapping[str, float] | None) -> dict[str, float]:
    """The alpha bands: ``thresholds`` over ``params/defaults.yaml``."""
    return {**settings.thresholds(), **(thresholds or {})}


def _figure(figsize: tuple[float, float]) -> tuple[Figure, Any]:
    fig = ReportFigure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    return fig, ax


def _empty(message: str, figsize: tuple[float, float] = (8, 2)) -> Figure:
    fig, ax = _figure(figsize)
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        message,
        ha="center",
        va="center",
        fontsize=11,
        color="#555555",
        transform=ax.transAxes,
        gid=EMPTY_LABEL,
    )
    return fig


class PercentTicks(Formatter):
    """Percent tick labels with as many decimals as the tick spacing needs.

    A share of 1 is 100%. The decimals are the fewest that label every tick
    exactly (ticks at 2.5% spacing read "2.5%", never "2%" twice); at most
    ``max_decimals``.

    Examples
    --------
    >>> PercentTicks().format_ticks([0.0, 0.025, 0.05, 0.075])
    ['0.0%', '2.5%', '5.0%', '7.5%']
    >>> PercentTicks().format_ticks([0.0, 0.2, 0.4])
    ['0%', '20%', '40%']
    """

    def __init__(self, max_decimals: int = 3) -> None:
        self.max_decimals = max_decimals
        self._decimals = 0

    @staticmethod
    def decimals_for(values: Any, max_decimals: int = 3) -> int:
        """Fewest decimals that write every ``values`` (shares) exactly in percent."""
        v = np.asarray(values, dtype=float) * 100
        v = v[np.isfinite(v)]
        for d in range(max_decimals + 1):
            if np.all(
                np.abs(np.round(v, d) - v) < 1e-6 * max(1.0, float(np.max(np.abs(v), initial=0)))
            ):
                return d
        return max_decimals

    def format_ticks(self, values: Sequence[float]) -> list[str]:  # noqa: D102
        self._decimals = self.decimals_for(values, self.max_decimals)
        return [self._fmt(v) for v in values]

    def _fmt(self, x: float) -> str:
        v = float(x) * 100
        if abs(v) < 0.5 * 10 ** (-self._decimals):
            v = 0.0
        return f"{v:.{self._decimals}f}%"

    def __call__(self, x: float, pos: int | None = None) -> str:  # noqa: D102
        locs = getattr(self.axis, "get_majorticklocs", None)
        if locs is not None:
            self._decimals = self.decimals_for(locs(), self.max_decimals)
        return self._fmt(x)


def _percent(axis: Any) -> None:
    """Percent labels on ``axis`` (an x or y axis), decimals from the tick spacing."""
    axis.set_major_formatter(PercentTicks())


def _is_empty(df: pd.DataFrame | None) -> bool:
    return df is None or len(df) == 0


def _xerr(est: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Non-negative asymmetric error bars; 0 where the interval is missing."""
    lo_e = np.where(np.isfinite(lo), est - lo, 0.0)
    hi_e = np.where(np.isfinite(hi), hi - est, 0.0)
    return np.vstack([np.clip(np.nan_to_num(lo_e), 0, None), np.clip(np.nan_to_num(hi_e), 0, None)])


# ---------------------------------------------------------------------------
# calibration
# ---------------------------------------------------------------------------
def agreement_forest(
    by_item: pd.DataFrame,
    *,
    thresholds: Mapping[str, float] | None = None,
    label: str = "name",
    show_gwet: bool = True,
    figsize: tuple[float, float] = (8, 4.5),
) -> Figure:
    """Forest plot of each criterion's Krippendorff alpha with its bootstrap interval.

    Parameters
    ----------
    by_item : DataFrame
        Output of :func:`qa_analysis.reliability.agreement_by_item` (``alpha,
        alpha_ci_low, alpha_ci_high, verdict``, optionally ``gwet`` and a label column).
    thresholds : mapping, optional
        ``alpha_tentative`` and ``alpha_reliable`` (default: the values of
        ``params/defaults.yaml``), drawn as dashed vertical lines.
    label : str
        Column naming the criteria (falls back to ``criterion``).
    show_gwet : bool
        Also mark Gwet's AC1/AC2 (hollow diamonds), so the kappa paradox is visible.

    Returns
    -------
    Figure
        One axes; criteria sorted by alpha, points coloured by verdict.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"criterion": ["tone", "empathy"], "alpha": [0.85, 0.3],
    ...                   "alpha_ci_low": [0.7, 0.1], "alpha_ci_high": [0.95, 0.5],
    ...                   "verdict": ["reliable", "unreliable"]})
    >>> [x.get_text() for x in agreement_forest(t).axes[0].get_yticklabels()]
    ['empathy', 'tone']
    """
    if _is_empty(by_item):
        return _empty("No calibration ratings this month: no agreement to show")
    _require(by_item, ["alpha", "alpha_ci_low", "alpha_ci_high"], "agreement_forest")
    th = _thresholds(thresholds)
    lab = label if label in by_item else "criterion"
    d = by_item.sort_values("alpha", kind="stable", na_position="first").reset_index(drop=True)
    d = d.assign(
        _label=d[lab].astype(str),
        _verdict=d["verdict"].astype(str) if "verdict" in d else "undefined",
    )
    fig, ax = _figure((figsize[0], max(figsize[1], 0.32 * len(d) + 1.2)))
    y = np.arange(len(d))
    est = d["alpha"].to_numpy(dtype=float)
    ax.errorbar(
        est,
        y,
        xerr=_xerr(est, d["alpha_ci_low"].to_numpy(float), d["alpha_ci_high"].to_numpy(float)),
        fmt="none",
        ecolor="#555555",
        elinewidth=1.2,
        capsize=3,
        zorder=1,
    )
    sns.scatterplot(
        data=d.assign(_y=y),
        x="alpha",
        y="_y",
        hue="_verdict",
        palette={k: v for k, v in _VERDICT_COLORS.items() if k in set(d["_verdict"])},
        s=60,
        ax=ax,
        zorder=2,
        legend=True,
    )
    if show_gwet and "gwet" in d:
        ax.scatter(
            d["gwet"].to_numpy(dtype=float),
            y,
            marker="D",
            facecolors="none",
            edgecolors="#264653",
            s=36,
            label="Gwet AC1/AC2",
            zorder=3,
        )
    ax.axvline(th["alpha_tentative"], ls="--", color="#e76f51", lw=1)
    ax.axvline(th["alpha_reliable"], ls="--", color="#2a9d8f", lw=1)
    ax.set_yticks(y, d["_label"])
    ax.set_xlabel("Krippendorff's alpha (95% bootstrap CI)")
    ax.set_ylabel("")
    lo = np.nanmin(np.concatenate([d["alpha_ci_low"].to_numpy(float), est, [0.0]]))
    ax.set_xlim(min(lo - 0.05, 0.0), 1.02)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title("Agreement per criterion")
    return fig


def rater_bias(
    raters: pd.DataFrame,
    *,
    value: str = "deviation_share",
    bias_flag: float | None = None,
    label: str = "rater_id",
    figsize: tuple[float, float] = (8, 4),
) -> Figure:
    """Each rater's mean deviation from the reference, with its bootstrap interval.

    Parameters
    ----------
    raters : DataFrame
        Output of :func:`qa_analysis.reliability.rater_calibration`
        (``<value>, <value>_ci_low, <value>_ci_high, verdict``).
    value : str
        ``deviation_share`` (share of the scale range, plotted as %) or ``deviation``.
    bias_flag : float, optional
        Tolerance lines at +-``bias_flag`` (default: ``thresholds.bias_flag``
        of ``params/defaults.yaml``; 0 draws none).

    Returns
    -------
    Figure
        Horizontal points with CIs, coloured lenient / severe / aligned; the
        zero line is perfect calibration.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"rater_id": ["R-1", "R-2"], "deviation_share": [0.2, -0.1],
    ...                   "deviation_share_ci_low": [0.1, -0.2], "deviation_share_ci_high": [0.3, 0.0],
    ...                   "verdict": ["lenient", "aligned"]})
    >>> [x.get_text() for x in rater_bias(r, bias_flag=0.15).axes[0].get_yticklabels()]
    ['R-2', 'R-1']
    """
    if _is_empty(raters):
        return _empty("No rater calibration this month")
    _require(raters, [label, value, f"{value}_ci_low", f"{value}_ci_high"], "rater_bias")
    d = raters.sort_values(value, kind="stable").reset_index(drop=True)
    d = d.assign(
        _verdict=d["verdict"].astype(str) if "verdict" in d else "undefined", _y=np.arange(len(d))
    )
    fig, ax = _figure((figsize[0], max(figsize[1], 0.32 * len(d) + 1.2)))
    est = d[value].to_numpy(float)
    ax.errorbar(
        est,
        d["_y"],
        xerr=_xerr(
            est, d[f"{value}_ci_low"].to_numpy(float), d[f"{value}_ci_high"].to_numpy(float)
        ),
        fmt="none",
        ecolor="#555555",
        capsize=3,
        zorder=1,
    )
    sns.scatterplot(
        data=d,
        x=value,
        y="_y",
        hue="_verdict",
        s=60,
        ax=ax,
        zorder=2,
        palette={k: v for k, v in _BIAS_COLORS.items() if k in set(d["_verdict"])},
    )
    ax.axvline(0, color="black", lw=1)
    if bias_flag is None:
        bias_flag = float(settings.thresholds()["bias_flag"])
    if bias_flag:
        for s in (-bias_flag, bias_flag):
            ax.axvline(s, ls="--", color="#999999", lw=1)
    ax.set_yticks(d["_y"], d[label].astype(str))
    ax.set_ylabel("")
    if value == "deviation_share":
        _percent(ax.xaxis)
        ax.set_xlabel("Mean deviation from the reference (share of the scale range, 95% CI)")
    else:
        ax.set_xlabel("Mean deviation from the reference (scale points, 95% CI)")
    ax.legend(title="", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("Rater calibration: severe (left) to lenient (right)")
    return fig


def deviation_heatmap(
    table: pd.DataFrame,
    *,
    value: str = "deviation_share",
    rater: str = "rater_id",
    item: str = "name",
    figsize: tuple[float, float] = (9, 4.5),
) -> Figure:
    """Rater x criterion heatmap of the mean deviation from the reference.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`qa_analysis.reliability.rater_calibration_by_item`
        (one row per rater x criterion).
    value : str
        Cell value; ``deviation_share`` is shown in percent of the scale range.
    rater, item : str
        Row and column labels (``item`` falls back to ``criterion``).

    Returns
    -------
    Figure
        A diverging heatmap centred at 0 (red = lenient, blue = severe), annotated.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"rater_id": ["R-1", "R-2"], "criterion": "tone", "deviation_share": [0.2, -0.1]})
    >>> deviation_heatmap(t).axes[0].collections[0].get_array().size
    2
    """
    if _is_empty(table):
        return _empty("No rater x criterion deviations this month")
    it = item if item in table else "criterion"
    _require(table, [rater, it, value], "deviation_heatmap")
    order = list(pd.unique(table[it]))
    m = table.pivot_table(index=rater, columns=it, values=value, aggfunc="mean", sort=False)
    m = m.reindex(columns=[c for c in order if c in m.columns])
    scale = 100.0 if value == "deviation_share" else 1.0
    m = m * scale
    vmax = float(np.nanmax(np.abs(m.to_numpy()))) if np.isfinite(m.to_numpy()).any() else 1.0
    fig, ax = _figure((figsize[0], max(figsize[1], 0.35 * len(m) + 1.8)))
    with _quiet_seaborn():
        sns.heatmap(
            m,
            ax=ax,
            cmap="RdBu_r",
            center=0,
            vmin=-vmax,
            vmax=vmax,
            annot=True,
            fmt=".0f",
            annot_kws={"fontsize": 7},
            linewidths=0.5,
            linecolor="white",
            cbar_kws={"label": "% of scale range" if scale == 100 else value},
        )
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    for t in ax.get_xticklabels():
        t.set_horizontalalignment("right")
    ax.set_title("Deviation from the reference by rater and criterion (+ lenient, - severe)")
    return fig


def drift(
    table: pd.DataFrame,
    *,
    thresholds: Mapping[str, float] | None = None,
    highlight: Sequence[str] = (),
    date: str = "session_date",
    label: str = "name",
    segments: pd.DataFrame | None = None,
    figsize: tuple[float, float] = (8, 3.8),
) -> Figure:
    """Agreement across calibration sessions: the sessions' mean alpha over time.

    ``segments`` (optional): the session-level change points of the mean
    alpha (:func:`qa_analysis.trends.change_points` segments, labelled by
    session date), drawn as horizontal levels.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`qa_analysis.reliability.agreement_over_sessions`
        (``session_id, session_date, criterion, alpha, mean_alpha``).
    thresholds : mapping, optional
        Band lines (``alpha_tentative``, ``alpha_reliable``; default: the
        values of ``params/defaults.yaml``).
    highlight : sequence of str
        Criteria (``criterion`` ids) to draw as their own lines.

    Returns
    -------
    Figure
        A line per highlighted criterion and a bold line for the mean.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"session_id": ["s1", "s2"], "session_date": pd.to_datetime(["2026-09-03", "2026-09-17"]),
    ...                   "criterion": "tone", "alpha": [0.6, 0.7], "mean_alpha": [0.6, 0.7]})
    >>> len(drift(d).axes)
    1
    """
    if _is_empty(table):
        return _empty("No calibration sessions in the history window")
    _require(table, ["session_id", date, "criterion", "alpha", "mean_alpha"], "drift")
    th = _thresholds(thresholds)
    per = table.groupby("session_id", sort=False).agg(d=(date, "first"), a=("mean_alpha", "first"))
    per = per.sort_values("d", kind="stable")
    fig, ax = _figure(figsize)
    lab = label if label in table else "criterion"
    for cid in highlight:
        sub = table.loc[table["criterion"] == cid].sort_values(date, kind="stable")
        # a criterion computed per scorecard version is one line per version (label)
        for name, part in sub.groupby(lab, sort=False):
            sns.lineplot(
                x=pd.to_datetime(part[date]).to_numpy(),
                y=part["alpha"].to_numpy(float),
                ax=ax,
                marker="o",
                lw=1,
                label=str(name),
                alpha=0.8,
            )
    sns.lineplot(
        x=pd.to_datetime(per["d"]).to_numpy(),
        y=per["a"].to_numpy(float),
        ax=ax,
        marker="o",
        lw=2.2,
        color="#264653",
        label="mean over criteria",
    )
    _segment_lines(ax, segments, "level between changes")
    ax.axhline(th["alpha_tentative"], ls="--", color="#e76f51", lw=1)
    ax.axhline(th["alpha_reliable"], ls="--", color="#2a9d8f", lw=1)
    ax.set_ylabel("Krippendorff's alpha")
    ax.set_xlabel("Session date")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("Agreement across calibration sessions")
    fig.autofmt_xdate()
    return fig


# ---------------------------------------------------------------------------
# performance
# ---------------------------------------------------------------------------
def _segment_lines(ax: Any, segments: pd.DataFrame | None, label: str) -> None:
    """Horizontal segment levels of :func:`qa_analysis.trends.change_points` (dates as labels)."""
    if segments is None or len(segments) < 2:
        return
    for i, r in enumerate(segments.to_dict("records")):
        x0 = pd.Timestamp(r["start_label"]) - pd.Timedelta(days=3)
        x1 = pd.Timestamp(r["end_label"]) + pd.Timedelta(days=3)
        ax.hlines(
            float(r["level"]),
            x0,
            x1,
            color="#6a4c93",
            lw=2.2,
            alpha=0.8,
            label=label if i == 0 else None,
            zorder=4,
        )


def control_chart(
    chart: pd.DataFrame,
    *,
    percent: bool = True,
    ylabel: str = "Pass rate",
    title: str | None = None,
    report_start: Any = None,
    target: float | None = None,
    good: str | None = "up",
    segments: pd.DataFrame | None = None,
    figsize: tuple[float, float] = (8, 3.8),
) -> Figure:
    """Control chart: the weekly statistic with its centre line, varying limits and signals.

    Parameters
    ----------
    chart : DataFrame
        Output of :func:`qa_analysis.trends.control_chart` (``period, value,
        center, lcl, ucl, signal``, optionally ``baseline`` and ``limits``:
        ``"p'"`` marks Laney's limits, named in the legend and title).
    percent : bool
        Format the y axis as percentages (p-chart).
    report_start : date, optional
        Shade the report month from this date.
    target : float, optional
        A dotted target line.
    good : {"up", "down"} or None
        Which side of the centre line is better: a signal on that side is
        drawn as an improvement (green), one on the other side as an alarm
        (red); None draws every signal as a rule violation.
    segments : DataFrame, optional
        Segment levels from :func:`qa_analysis.trends.change_points`
        (``start_label, end_label, level``), drawn as horizontal steps.

    Returns
    -------
    Figure
        Points joined by a line, step limits, circled signals.

    Examples
    --------
    >>> import pandas as pd
    >>> cc = pd.DataFrame({"period": pd.date_range("2026-09-07", periods=3, freq="7D"),
    ...                    "value": [0.8, 0.5, 0.95], "center": 0.8, "lcl": 0.65, "ucl": 0.9,
    ...                    "signal": [False, True, True]})
    >>> ax = control_chart(cc).axes[0]
    >>> ax.get_ylabel(), sorted(ax.get_legend_handles_labels()[1])[:2]
    ('Pass rate', ['3-sigma limits', 'alarm (worse)'])
    """
    if _is_empty(chart):
        return _empty("No weekly data to chart")
    _require(chart, ["period", "value", "center", "lcl", "ucl", "signal"], "control_chart")
    d = chart.sort_values("period", kind="stable")
    x = pd.to_datetime(d["period"]).to_numpy()
    laney = "limits" in d and bool((d["limits"] == "p'").any())
    lim_label = "Laney p' limits (3 sigma, overdispersion)" if laney else "3-sigma limits"
    fig, ax = _figure(figsize)
    ax.step(
        x, d["ucl"].to_numpy(float), where="mid", color="#999999", lw=1, ls="--", label=lim_label
    )
    ax.step(x, d["lcl"].to_numpy(float), where="mid", color="#999999", lw=1, ls="--")
    ax.plot(x, d["center"].to_numpy(float), color="#2a9d8f", lw=1.2, label="centre (baseline)")
    sns.lineplot(
        x=x,
        y=d["value"].to_numpy(float),
        ax=ax,
        marker="o",
        color="#264653",
        lw=1.5,
        label="weekly value",
    )
    _segment_lines(ax, segments, "level between steps")
    sig = d["signal"].to_numpy(bool)
    vals = d["value"].to_numpy(float)
    above = vals >= d["center"].to_numpy(float)
    if good in ("up", "down"):
        better = above if good == "up" else ~above
        groups = [
            (sig & ~better, "#d62828", "alarm (worse)"),
            (sig & better, "#2a9d8f", "improvement"),
        ]
    else:
        groups = [(sig, "#d62828", "rule violation")]
    for mask, color, name in groups:
        if mask.any():
            ax.scatter(
                x[mask],
                vals[mask],
                s=90,
                facecolors="none",
                edgecolors=color,
                linewidths=2,
                zorder=5,
                label=name,
            )
    if target is not None:
        ax.axhline(target, color="#f4a261", ls=":", lw=1.5, label="target")
    if report_start is not None:
        ax.axvspan(
            pd.Timestamp(report_start),
            x.max() + np.timedelta64(6, "D"),
            color="#e9c46a",
            alpha=0.15,
            lw=0,
            label="report month",
        )
    if percent:
        _percent(ax.yaxis)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Week starting")
    ax.legend(fontsize=7, loc="lower left", ncol=3)
    head = title or f"{ylabel} by week (control chart)"
    ax.set_title(head + (": Laney p' limits" if laney else ""))
    fig.autofmt_xdate()
    return fig


def pareto(
    rates: pd.DataFrame,
    *,
    label: str = "name",
    top: int | None = 12,
    share: float = 0.8,
    figsize: tuple[float, float] = (8, 4),
) -> Figure:
    """Pareto chart of criterion fails: bars by count, line for the cumulative share.

    Parameters
    ----------
    rates : DataFrame
        Output of :func:`qa_analysis.scorecard.criterion_rates` (sorted by fails).
    top : int, optional
        Show the first ``top`` criteria.
    share : float
        Cumulative share drawn as a guide (the Pareto principle's 80%).

    Returns
    -------
    Figure
        Bars (critical criteria in red) on the left axis and the cumulative
        share of fails on a twin right axis with a guide at ``share``.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"criterion": ["a", "b"], "fails": [3, 1], "cum_share": [0.75, 1.0]})
    >>> len(pareto(r).axes[0].patches)
    2
    """
    if _is_empty(rates) or float(rates["fails"].sum()) == 0:
        return _empty("No criterion failed this month")
    _require(rates, ["fails", "cum_share"], "pareto")
    d = rates.head(top) if top else rates
    lab = label if label in d else "criterion"
    fig, ax = _figure(figsize)
    colors = (
        ["#d62828" if c else "#457b9d" for c in d["critical"].astype(bool)]
        if "critical" in d
        else ["#457b9d"] * len(d)
    )
    xs = np.arange(len(d))
    ax.bar(xs, d["fails"].to_numpy(float), color=colors)
    ax.set_xticks(xs, d[lab].astype(str), rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("Fails")
    ax2 = ax.twinx()
    ax2.plot(xs, d["cum_share"].to_numpy(float), color="#264653", marker="o", lw=1.5)
    ax2.axhline(share, color="#999999", ls=":", lw=1)
    ax2.set_ylim(0, 1.05)
    _percent(ax2.yaxis)
    ax2.set_ylabel("Cumulative share of fails")
    ax.set_title("Failure Pareto by criterion (red = critical)")
    return fig


def funnel(
    table: pd.DataFrame | Any,
    curve: pd.DataFrame | None = None,
    *,
    target: float | None = None,
    unit: str = "agent_id",
    figsize: tuple[float, float] = (8, 4),
) -> Figure:
    """Funnel plot: each unit's pass rate against its number of audits, with limits.

    Parameters
    ----------
    table : DataFrame or qa_analysis.compare.Funnel
        :func:`qa_analysis.compare.funnel` (its result, or its ``table``:
        ``n, rate, position``).
    curve : DataFrame, optional
        :func:`qa_analysis.compare.funnel_limits` on a grid of n for smooth limits.
    target : float, optional
        The centre line (the pooled rate); default the result's ``target``, or a
        ``target`` column of the table.

    Returns
    -------
    Figure
        Points coloured by position (above / below the 99.8% limits, within).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"agent_id": ["a", "b"], "n": [5, 20], "rate": [0.6, 0.9],
    ...                   "target": 0.8, "position": ["within", "within"]})
    >>> funnel(f).axes[0].get_xlabel()
    'Audits in the month'
    """
    if not isinstance(table, pd.DataFrame) and hasattr(table, "table"):  # a compare.Funnel
        target = table.target if target is None else target
        table = table.table
    if _is_empty(table):
        return _empty("No evaluations this month: no funnel plot")
    _require(table, ["n", "rate", "position"], "funnel")
    fig, ax = _figure(figsize)
    if curve is not None and len(curve):
        c = curve.sort_values("n")
        for lo, hi, ls, name in (
            ("lo95", "hi95", "--", "95% limits"),
            ("lo998", "hi998", ":", "99.8% limits"),
        ):
            ax.plot(c["n"], c[lo], color="#777777", ls=ls, lw=1, label=name)
            ax.plot(c["n"], c[hi], color="#777777", ls=ls, lw=1)
    p0 = target
    if p0 is None and "target" in table and len(table):
        p0 = float(table["target"].iloc[0])
    if p0 is not None and np.isfinite(p0):
        ax.axhline(p0, color="#2a9d8f", lw=1.2, label="pooled rate")
    pal = {"within": "#8d99ae", "above": "#2a9d8f", "below": "#d62828"}
    rng = np.random.default_rng(0)  # jitter for display only: overlapping integer n
    jit = table.assign(_n=table["n"].to_numpy(float) + rng.uniform(-0.15, 0.15, len(table)))
    sns.scatterplot(
        data=jit,
        x="_n",
        y="rate",
        hue="position",
        ax=ax,
        s=30,
        alpha=0.85,
        palette={k: v for k, v in pal.items() if k in set(table["position"])},
    )
    _percent(ax.yaxis)
    ax.set_xlabel("Audits in the month")
    ax.set_ylabel("Pass rate")
    ax.legend(fontsize=7, loc="lower right", ncol=2)
    ax.set_title("Agents on a funnel plot (pass rate vs audits)")
    return fig


def audits_per_agent(
    per_agent: pd.DataFrame,
    *,
    value: str = "audits",
    target: float | None = None,
    planned: float | None = None,
    figsize: tuple[float, float] = (8, 3),
) -> Figure:
    """How many agents got 0, 1, 2, ... audits this month, against the per-agent target.

    Parameters
    ----------
    per_agent : DataFrame
        One row per agent with a count column (``PerformanceResults.per_agent``:
        ``agent_id, tickets, audits``; or ``done`` from ``PerformanceResults.coverage``).
    value : str
        The count column.
    target : float, optional
        Audits-per-agent target: bars at or above it are green, below it orange,
        and a dashed line marks it.
    planned : float, optional
        The audit plan's quota per agent (a dotted line).

    Returns
    -------
    Figure
        One bar per count, every integer from 0 to the larger of the maximum and
        the target / quota (so gaps and the lines show).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"agent_id": list("abcd"), "audits": [5, 5, 3, 6]})
    >>> [int(b.get_height()) for b in audits_per_agent(t, target=5).axes[0].patches]
    [0, 0, 0, 1, 0, 2, 1]
    """
    if _is_empty(per_agent):
        return _empty("No agents with tickets or audits this month")
    _require(per_agent, [value], "audits_per_agent")
    v = pd.to_numeric(per_agent[value], errors="coerce").to_numpy(float)
    v = v[np.isfinite(v)].astype(np.int64)
    if v.size == 0:
        return _empty("No agents with tickets or audits this month")
    marks = [float(m) for m in (target, planned) if m is not None and np.isfinite(m)]
    # every count up to the larger of the data and the target / quota (so both lines show)
    width = max([int(v.max()) + 1] + [int(np.ceil(m)) + 1 for m in marks])
    counts = np.bincount(np.clip(v, 0, None), minlength=width)
    k = np.arange(len(counts))
    fig, ax = _figure(figsize)
    if target is not None and np.isfinite(target):
        colors = np.where(k >= float(target), "#2a9d8f", "#f4a261")
    else:
        colors = np.full(len(k), "#8ecae6")
    ax.bar(k, counts, color=colors, width=0.8)
    if target is not None and np.isfinite(target):
        ax.axvline(
            float(target) - 0.5,
            color="#e76f51",
            ls="--",
            lw=1.5,
            label=f"target {float(target):g} per agent",
        )
    if planned is not None and np.isfinite(planned):
        ax.axvline(
            float(planned) - 0.5,
            color="#555555",
            ls=":",
            lw=1.5,
            label=f"plan {float(planned):g} per agent",
        )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left")
    ax.set_xticks(k)
    ax.set_xlabel(f"{value.replace('_', ' ').capitalize()} in the month")
    ax.set_ylabel("Agents")
    ax.set_title(f"Agents by number of {value.replace('_', ' ')} ({len(v)} agents)")
    return fig


def breakdown(
    table: pd.DataFrame,
    by: str,
    *,
    value: str = "pass_rate",
    ci: tuple[str, str] | None = ("pass_rate_ci_low", "pass_rate_ci_high"),
    percent: bool = True,
    target: float | None = None,
    xlabel: str | None = None,
    missing: str | None = None,
    figsize: tuple[float, float] = (8, 3.2),
) -> Figure:
    """Horizontal bars of a rate (or score) per group, with intervals and a target line.

    A group without a value has no bar (an empty bar would read as zero): its
    row says "MISSING" in words, with the reason from column ``missing`` when given.

    Parameters
    ----------
    table : DataFrame
        One row per group (e.g. :func:`qa_analysis.trends.aggregate` by market).
    by : str
        Group column.
    value, ci : str
        Value column and its interval columns (None for no error bars).
    target : float, optional
        Target line.

    Returns
    -------
    Figure

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"market": ["DE", "FR"], "n": [80, 20], "pass_rate": [0.9, 0.7],
    ...                   "pass_rate_ci_low": [0.8, 0.5], "pass_rate_ci_high": [0.95, 0.85]})
    >>> [x.get_text() for x in breakdown(t, "market").axes[0].get_yticklabels()]
    ['FR (n=20)', 'DE (n=80)']
    """
    if _is_empty(table):
        return _empty(f"No data by {by}")
    _require(table, [by, value, *(ci or ())], "breakdown")
    d = table.sort_values(value, kind="stable", na_position="first").reset_index(drop=True)
    labels = d[by].astype(str)
    if "n" in d:
        labels = (
            labels + " (n=" + d["n"].map(lambda v: f"{int(v):,}" if np.isfinite(v) else "-") + ")"
        )
    miss = ~np.isfinite(pd.to_numeric(d[value], errors="coerce").to_numpy(float))
    fig, ax = _figure((figsize[0], max(figsize[1], 0.35 * len(d) + 1.3)))
    sns.barplot(
        data=d.assign(_by=labels.to_numpy()),
        x=value,
        y="_by",
        ax=ax,
        color="#8ecae6",
        orient="h",
        errorbar=None,
    )
    if ci:
        est = d[value].to_numpy(float)
        ax.errorbar(
            est,
            np.arange(len(d)),
            xerr=_xerr(est, d[ci[0]].to_numpy(float), d[ci[1]].to_numpy(float)),
            fmt="none",
            ecolor="#333333",
            capsize=3,
        )
    if miss.any():
        tr = blended_transform_factory(ax.transAxes, ax.transData)
        reasons = d[missing].astype(str) if missing and missing in d else None
        for i in np.flatnonzero(miss):
            why = f": {reasons.iloc[i]}" if reasons is not None else ""
            ax.text(
                0.01,
                i,
                f"MISSING{why}",
                transform=tr,
                va="center",
                ha="left",
                fontsize=8,
                fontweight="bold",
                color="#7a7a7a",
                gid=MISSING_LABEL,
            )
    if target is not None:
        ax.axvline(target, color="#f4a261", ls="--", lw=1.5, label="target")
        ax.legend(fontsize=8, loc="lower right")
    if percent:
        _percent(ax.xaxis)
    ax.set_ylabel("")
    ax.set_xlabel(xlabel or value.replace("_", " "))
    ax.set_title(f"{(xlabel or value.replace('_', ' ')).capitalize()} by {by}")
    return fig


def csat_box(
    scores: pd.DataFrame,
    *,
    score: str = "score",
    csat: str = "csat",
    figsize: tuple[float, float] = (8, 3.5),
) -> Figure:
    """QA score distribution by CSAT answer (box plots), where CSAT exists.

    Parameters
    ----------
    scores : DataFrame
        One row per evaluation with ``score`` (0-100) and ``csat`` (NaN = no survey).

    Returns
    -------
    Figure
        One box per CSAT level with its n.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"score": [60.0, 90.0, 95.0], "csat": [2, 5, 5]})
    >>> [x.get_text().split()[0] for x in csat_box(s).axes[0].get_xticklabels()]
    ['2', '5']
    """
    if _is_empty(scores) or csat not in scores or scores[csat].notna().sum() == 0:
        return _empty("No CSAT answers: no QA score vs CSAT chart")
    _require(scores, [score, csat], "csat_box")
    d = scores.loc[scores[csat].notna() & scores[score].notna(), [score, csat]]
    if len(d) == 0:
        return _empty("No evaluation with both a score and a CSAT answer")
    d = d.assign(_c=d[csat].astype(float).map(lambda v: f"{v:g}"))
    order = sorted(d["_c"].unique(), key=float)
    fig, ax = _figure(figsize)
    with _quiet_seaborn():
        sns.boxplot(data=d, x="_c", y=score, order=order, ax=ax, color="#8ecae6", fliersize=2)
    counts = d["_c"].value_counts()
    ax.set_xticks(range(len(order)), [f"{o}\n(n={counts[o]})" for o in order])
    ax.set_xlabel("CSAT answer")
    ax.set_ylabel("QA score (0-100)")
    ax.set_title("QA score by customer satisfaction")
    return fig


# ---------------------------------------------------------------------------
# global overview
# ---------------------------------------------------------------------------
def region_comparison(
    status: pd.DataFrame,
    *,
    kpis: Sequence[str] = ("pass_rate", "mean_score", "critical_rate", "alpha"),
    figsize: tuple[float, float] = (9, 3.6),
) -> Figure:
    """Regions side by side against the global targets, one panel per KPI.

    Parameters
    ----------
    status : DataFrame
        Output of :func:`qa_analysis.report.overview.region_targets` (long:
        ``region, kpi, label, value, ci_low, ci_high, target, status``).
    kpis : sequence of str
        KPIs to show, one panel each.

    Returns
    -------
    Figure
        Bars coloured met / at risk / missed, the target as a dashed line. A
        region without a value has no bar (an empty bar would read as zero):
        a hatched slot says "MISSING" and the reason (column
        ``missing_reason``, e.g. "no calibration").

    Examples
    --------
    >>> import pandas as pd
    >>> st = pd.DataFrame({"region": ["EU", "NA"], "kpi": "pass_rate", "label": "Pass rate",
    ...                    "value": [0.9, 0.8], "target": 0.85, "status": ["met", "missed"]})
    >>> [a.get_title() for a in region_comparison(st).axes]
    ['Pass rate']
    """
    if _is_empty(status):
        return _empty("No regional KPIs to compare")
    _require(status, ["region", "kpi", "value", "target", "status"], "region_comparison")
    kp = [k for k in kpis if k in set(status["kpi"])]
    if not kp:
        return _empty("None of the requested KPIs is in the table")
    fig = ReportFigure(figsize=figsize, layout="constrained")
    axes = fig.subplots(1, len(kp), squeeze=False)[0]
    regions = list(pd.unique(status["region"]))
    for ax, k in zip(axes, kp, strict=True):
        d = status.loc[status["kpi"] == k].set_index("region").reindex(regions).reset_index()
        vals = d["value"].to_numpy(float)
        st = d["status"].astype(object).where(d["status"].notna(), None)
        cols = [_STATUS_COLORS.get(s, "#c0c0c0") if s is not None else "#c0c0c0" for s in st]
        xs = np.arange(len(d))
        fin = np.isfinite(vals)
        ax.bar(xs[fin], vals[fin], color=[c for c, f in zip(cols, fin, strict=True) if f])
        if "value_ci_low" in d:
            lo, hi = d["value_ci_low"].to_numpy(float), d["value_ci_high"].to_numpy(float)
            has = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(vals)
            if has.any():
                ax.errorbar(
                    xs[has],
                    vals[has],
                    yerr=_xerr(vals[has], lo[has], hi[has]),
                    fmt="none",
                    ecolor="#333333",
                    capsize=3,
                )
        tr = blended_transform_factory(ax.transData, ax.transAxes)
        why = d["missing_reason"] if "missing_reason" in d else pd.Series([None] * len(d))
        for i in np.flatnonzero(~fin):
            ax.axvspan(
                i - 0.4,
                i + 0.4,
                facecolor="none",
                edgecolor="#bbbbbb",
                hatch="//",
                lw=0,
                gid=MISSING_LABEL,
            )
            reason = why.iloc[i]
            text = "MISSING" + (f"\n{reason}" if isinstance(reason, str) and reason else "")
            ax.text(
                i,
                0.5,
                text,
                transform=tr,
                rotation=90,
                ha="center",
                va="center",
                fontsize=7,
                fontweight="bold",
                color="#555555",
                gid=MISSING_LABEL,
            )
        t = d["target"].dropna()
        if len(t):
            ax.axhline(float(t.iloc[0]), color="#333333", ls="--", lw=1)
        ax.set_xticks(xs, d["region"].astype(str), fontsize=8)
        ax.set_title(
            str(d["label"].dropna().iloc[0]) if "label" in d and d["label"].notna().any() else k,
            fontsize=9,
        )
        if k in ("pass_rate", "critical_rate"):
            _percent(ax.yaxis)
        if k == "pass_rate" and np.isfinite(vals).any():
            ax.set_ylim(max(0.0, np.nanmin(vals) - 0.2), 1.0)
        elif k == "mean_score" and np.isfinite(vals).any():
            ax.set_ylim(max(0.0, np.nanmin(vals) - 15), 100)
    fig.suptitle(
        "Regions against the global targets (green met, amber at risk, red missed)", fontsize=10
    )
    return fig


# ---------------------------------------------------------------------------
# history across months
# ---------------------------------------------------------------------------
def history(
    table: pd.DataFrame,
    steps: pd.DataFrame | None = None,
    *,
    kpis: Sequence[str] | None = None,
    panel_size: tuple[float, float] = (1.9, 1.5),
) -> Figure:
    """Each KPI per region over the months: small multiples with intervals, target and steps.

    Parameters
    ----------
    table : DataFrame
        :attr:`qa_analysis.report.history.HistorySection.table` (``region, kpi,
        period, value, ci_low, ci_high, target``; one row per month of the
        calendar, a month without data has a missing value).
    steps : DataFrame, optional
        :attr:`~qa_analysis.report.history.HistorySection.steps` (``region, kpi,
        period``): a dotted vertical line at each month a new level starts.
    kpis : sequence of str, optional
        KPIs to show (one row of panels each), default all in ``table``.
    panel_size : tuple of float
        Width and height of one panel in inches.

    Returns
    -------
    Figure
        One panel per KPI (rows, y axis shared along the row) x region
        (columns): the monthly value as a line with markers, its interval as a
        band, the target as a dashed line. A month without data is a gap in
        the line and the band, never a zero.

    Examples
    --------
    >>> t = pd.DataFrame({"region": "EU", "kpi": "pass_rate", "period": ["2026-01", "2026-02", "2026-03"],
    ...                   "value": [0.9, None, 0.8], "ci_low": np.nan, "ci_high": np.nan, "target": 0.85})
    >>> fig = history(t)
    >>> len(fig.axes), np.isnan(fig.axes[0].lines[0].get_ydata()).tolist()
    (1, [False, True, False])
    """
    if _is_empty(table):
        return _empty("No history yet: no earlier months to chart")
    _require(table, ["region", "kpi", "period", "value", "target"], "history")
    kp = [k for k in (kpis or pd.unique(table["kpi"])) if k in set(table["kpi"])]
    if not kp:
        return _empty("None of the requested KPIs is in the history")
    regions = list(pd.unique(table["region"].astype(str)))
    months = sorted(pd.unique(table["period"].astype(str)))
    x = np.arange(len(months))
    pos = {m: i for i, m in enumerate(months)}
    fig = ReportFigure(
        figsize=(panel_size[0] * len(regions) + 0.6, panel_size[1] * len(kp) + 0.6),
        layout="constrained",
    )
    axes = fig.subplots(len(kp), len(regions), squeeze=False, sharex=True, sharey="row")
    labels = {"pass_rate": "Pass rate", "mean_score": "Mean score", "alpha": "Alpha"}
    labels |= {"critical_rate": "Critical rate", "audits_per_agent": "Audits/agent"}
    tick = np.unique(np.linspace(0, len(months) - 1, min(len(months), 4)).round().astype(int))
    for i, k in enumerate(kp):
        for j, r in enumerate(regions):
            ax = axes[i][j]
            d = table.loc[(table["kpi"] == k) & (table["region"].astype(str) == r)]
            d = d.set_index(d["period"].astype(str)).reindex(months)
            v = pd.to_numeric(d["value"], errors="coerce").to_numpy(float)
            if "ci_low" in d and "ci_high" in d:
                lo = pd.to_numeric(d["ci_low"], errors="coerce").to_numpy(float)
                hi = pd.to_numeric(d["ci_high"], errors="coerce").to_numpy(float)
                ax.fill_between(x, lo, hi, color="#8ab6d6", alpha=0.45, lw=0)
            ax.plot(x, v, marker="o", ms=3, lw=1.4, color="#264653")
            tg = pd.to_numeric(d["target"], errors="coerce").dropna()
            if len(tg):
                ax.axhline(float(tg.iloc[-1]), color="#333333", ls="--", lw=0.9)
            if steps is not None and len(steps):
                st = steps.loc[(steps["kpi"] == k) & (steps["region"].astype(str) == r)]
                for m in st["period"].astype(str):
                    if m in pos:
                        ax.axvline(pos[m] - 0.5, color="#6a4c93", ls=":", lw=1.4)
            if not np.isfinite(v).any():
                ax.text(
                    0.5,
                    0.5,
                    "MISSING",
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="#555555",
                    gid=MISSING_LABEL,
                )
            if i == 0:
                ax.set_title(r, fontsize=9)
            if j == 0:
                ax.set_ylabel(labels.get(k, k), fontsize=8)
            if k in ("pass_rate", "critical_rate"):
                _percent(ax.yaxis)
            ax.tick_params(labelsize=7)
            ax.set_xticks(tick, [months[t] for t in tick], rotation=45, fontsize=6)
    fig.suptitle(
        "The last months per region: value (line), interval (band), target (dashed), step (dotted)",
        fontsize=9,
    )
    return fig
