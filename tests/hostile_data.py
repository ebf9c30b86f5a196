"""A small data set whose every text field carries HTML / script / markdown payloads.

Used by the report and batch tests of issue 11 (no script from data). Every payload that
runs sets ``window.__pwned`` or calls ``alert``; markup that survives as an element carries
``data-qa-payload`` (tests/browser.py flags both).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from qa_analysis import demo

#: Payloads appended to the values (cycled over the unique values of a column).
PAYLOADS = (
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=1</script>",
    "[x](javascript:window.__pwned=1)",
    "<b data-qa-payload>b</b>",
    "<svg onload=alert(1)>",
    "$\\frac{",
)
#: Text that must show on a page where a payload was escaped (not dropped).
VISIBLE = ("&lt;script&gt;window.__pwned=1&lt;/script&gt;", "onerror=")
#: Columns given payloads, per table.
TEXT_COLUMNS = {
    "evaluations": ("ticket_id", "agent_id", "reviewer_id", "market", "channel", "queue"),
    "calibration": ("session_id", "ticket_id", "rater_id"),
    "tickets": ("ticket_id", "agent_id", "market", "channel", "queue"),
}


def hostile(values: pd.Series) -> pd.Series:
    """Each unique value with one payload appended (the same value, the same payload)."""
    codes, uniques = pd.factorize(values)
    mapped = [f"{u} {PAYLOADS[i % len(PAYLOADS)]}" for i, u in enumerate(uniques)]
    return pd.Series([mapped[c] for c in codes], index=values.index, dtype=object)


def hostile_scorecard(path: Path) -> Path:
    """The demo scorecard with a payload in every criterion name, section and the title."""
    spec = yaml.safe_load(Path(demo.SCORECARD_PATH).read_text(encoding="utf-8"))
    spec["name"] = f"Card {PAYLOADS[0]}"
    # every criterion list: a single-version card's, or each version's
    lists = [spec["criteria"]] if "criteria" in spec else []
    lists += [v["criteria"] for v in spec.get("versions", []) if "criteria" in v]
    for criteria in lists:
        for i, c in enumerate(criteria):
            c["name"] = f"{c['name']} {PAYLOADS[i % len(PAYLOADS)]}"
            c["section"] = f"{c['section']} {PAYLOADS[(i + 1) % len(PAYLOADS)]}"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def hostile_tables(seed: int = 7) -> dict[str, pd.DataFrame]:
    """The small demo's tables with payloads in every text column but region and criterion."""
    d = demo.generate(seed=seed, small=True)
    out = {}
    # ids shared across tables (ticket, agent, reviewer = rater) keep one hostile value
    shared: dict[str, dict[str, str]] = {}
    for name in ("tickets", "evaluations", "calibration"):
        df = getattr(d, name).copy()
        for col in TEXT_COLUMNS[name]:
            kind = "person" if col in ("agent_id", "reviewer_id", "rater_id") else col
            table = shared.setdefault(kind, {})
            new = [v for v in pd.unique(df[col]) if v not in table]
            table.update(
                zip(new, hostile(pd.Series(new, dtype=object)) if new else [], strict=True)
            )
            df[col] = df[col].map(table).astype(object)
        out[name] = df
    return out


def write_hostile_data(folder: Path, seed: int = 7) -> Path:
    """Write the hostile tables as Parquet and the hostile scorecard into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in hostile_tables(seed).items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    hostile_scorecard(folder / "scorecard.yaml")
    return folder
