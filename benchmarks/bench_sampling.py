"""Benchmark: sampling.draw against pandas groupby(...).sample on a large ticket population.

Draws 5 tickets per (agent, channel) stratum for 5,000 agents x 3 channels
from a 10,000,000-ticket population (``--quick``: 1,000,000 tickets, 1,000
agents) with our order sampling and with ``population.groupby(strata).sample(n=5)``,
best of N runs each, and prints the time ratio (ours / pandas; <= 1.0 means
no slower). Peak memory of each call is measured two ways: tracemalloc
(Python and numpy allocations) and the peak RSS increase sampled every 2 ms
by a background thread (also catches pyarrow's allocator). Both are printed
relative to the population frame's own size (``memory_usage(deep=True)``).

Four frames: int64 or text ticket ids, with rows in id order (as exports
usually come: draw() then proves the ids unique in O(n)) or shuffled (it
sorts the 64-bit keys to check for duplicates). Strata columns are pandas
``str`` columns, as the loaders return them.

Run with ``.venv/bin/python benchmarks/bench_sampling.py [--quick] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np
import pandas as pd

from qa_analysis import sampling

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


class PeakRSS:
    """Peak resident-set increase over a block, sampled by a thread."""

    def __enter__(self) -> PeakRSS:
        gc.collect()
        self.base = rss()
        self.peak = self.base
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, rss())
            time.sleep(0.002)

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._t.join()
        self.peak = max(self.peak, rss())

    @property
    def delta(self) -> int:
        return self.peak - self.base


def make_population(
    n_tickets: int, n_agents: int, string_ids: bool, shuffled: bool = False, seed: int = 0
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    agents = pd.Series([f"A{i:05d}" for i in range(n_agents)], dtype="str")
    agent = agents.take(rng.integers(0, n_agents, n_tickets)).reset_index(drop=True)
    channel = pd.Series(
        np.array(["chat", "email", "phone"]).take(rng.integers(0, 3, n_tickets)), dtype="str"
    )
    if string_ids:
        ids = pd.Series(
            np.char.add("T", np.char.zfill(np.arange(n_tickets).astype(str), 8)), dtype="str"
        )
    else:
        ids = pd.Series(np.arange(1, n_tickets + 1, dtype=np.int64))
    pop = pd.DataFrame({"ticket_id": ids, "agent_id": agent, "channel": channel})
    if shuffled:  # ids in random row order: draw() cannot prove uniqueness in O(n) and sorts
        pop = pop.take(rng.permutation(n_tickets)).reset_index(drop=True)
    return pop


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def memory(
    which: str, n_tickets: int, n_agents: int, string_ids: bool, shuffled: bool
) -> tuple[int, int]:
    """Peak memory of one call, measured in a fresh process (a warm allocator hides RSS growth)."""
    cmd = (
        [
            sys.executable,
            __file__,
            "--child",
            which,
            "--tickets",
            str(n_tickets),
            "--agents",
            str(n_agents),
        ]
        + (["--string-ids"] if string_ids else [])
        + (["--shuffled"] if shuffled else [])
    )
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
    return int(out[-2]), int(out[-1])


def child(which: str, n_tickets: int, n_agents: int, string_ids: bool, shuffled: bool) -> None:
    pop = make_population(n_tickets, n_agents, string_ids, shuffled)
    fn = _calls(pop)[which]
    sampling.draw(pop.head(1000), 1, strata=["agent_id", "channel"], seed=1)  # warm imports
    pop.head(1000).groupby(["agent_id", "channel"]).sample(n=1, random_state=1)
    with PeakRSS() as p:
        fn()
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(peak, p.delta)


def _calls(pop: pd.DataFrame) -> dict:
    strata = ["agent_id", "channel"]
    return {
        "ours": lambda: sampling.draw(pop, 5, strata=strata, seed=2026),
        "peer": lambda: pop.groupby(strata).sample(n=5, random_state=2026),
    }


def run(n_tickets: int, n_agents: int, string_ids: bool, shuffled: bool, repeat: int) -> None:
    pop = make_population(n_tickets, n_agents, string_ids, shuffled)
    frame = int(pop.memory_usage(deep=True).sum())
    calls = _calls(pop)
    t_ours, s_ours = best_of(calls["ours"], repeat)
    t_peer, s_peer = best_of(calls["peer"], repeat)
    assert len(s_ours) == len(s_peer), (len(s_ours), len(s_peer))
    n_sample = len(s_ours)
    del pop, calls, s_ours, s_peer
    gc.collect()
    tm_ours, rss_ours = memory("ours", n_tickets, n_agents, string_ids, shuffled)
    tm_peer, rss_peer = memory("peer", n_tickets, n_agents, string_ids, shuffled)
    kind = ("str ids 'T00000001'" if string_ids else "int64 ids") + (
        ", rows shuffled" if shuffled else ", rows in id order"
    )
    mb = 1e6
    print(
        f"\n{n_tickets:,} tickets, {n_agents:,} agents x 3 channels, {kind}; "
        f"frame {frame / mb:,.0f} MB; sample {n_sample:,} rows"
    )
    print(
        f"  time   draw {t_ours:7.3f} s   groupby.sample {t_peer:7.3f} s   "
        f"ratio {t_ours / t_peer:5.2f}  (<= 1.0 wanted)"
    )
    print(
        f"  memory draw: tracemalloc peak {tm_ours / mb:7.1f} MB ({tm_ours / frame:4.2f}x frame), "
        f"RSS peak delta {rss_ours / mb:7.1f} MB ({rss_ours / frame:4.2f}x frame)  (<= 1.5x wanted)"
    )
    print(
        f"  memory groupby.sample: tracemalloc {tm_peer / mb:7.1f} MB ({tm_peer / frame:4.2f}x), "
        f"RSS delta {rss_peer / mb:7.1f} MB ({rss_peer / frame:4.2f}x)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1M tickets, 1,000 agents")
    ap.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    ap.add_argument("--child", choices=["ours", "peer"], help=argparse.SUPPRESS)
    ap.add_argument("--tickets", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--agents", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--string-ids", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--shuffled", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.tickets, args.agents, args.string_ids, args.shuffled)
        return
    n_tickets, n_agents = (1_000_000, 1_000) if args.quick else (10_000_000, 5_000)
    print(
        "bench_sampling: draw(pop, 5, strata=[agent_id, channel]) vs "
        "pop.groupby([agent_id, channel]).sample(n=5)"
    )
    for string_ids, shuffled in ((False, False), (False, True), (True, False), (True, True)):
        run(n_tickets, n_agents, string_ids, shuffled, args.repeat)


if __name__ == "__main__":
    main()
