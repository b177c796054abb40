"""Shared helpers for the benchmarks: paths, generated histories, statistics, machine facts."""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"  # git-ignored: generated histories and results
POLICIES = tuple(sorted((ROOT / "policies").glob("*.toml")))
SEED = 2026
GENERATE_CHUNK = 1_000_000  # rows per generate_history call (chunk i uses seed SEED + i)


def log(message: str) -> None:
    """Progress for the person waiting: on stderr, so stdout stays clean for --json."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_rows(text: str) -> int:
    """``50k``, ``1m``, ``10M``, ``250000`` → a row count."""
    value = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(value[-1:], 1)
    number = value[:-1] if scale != 1 else value
    return int(float(number) * scale)


def rows_label(rows: int) -> str:
    """1000000 → ``1m``, 50000 → ``50k`` (file names and table headings)."""
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def generated_history(rows: int) -> pl.DataFrame:
    """``rows`` generated facts rows, made of 1 M-row chunks (chunk i from seed SEED + i).

    A smaller history is therefore always the first rows of a larger one: the 50 k history is
    the first 50 k rows of the 5 M one, which starts with the 1 M one.
    """
    from refundable.synthetic import generate_history

    parts = []
    for index, start in enumerate(range(0, rows, GENERATE_CHUNK)):
        part = generate_history(GENERATE_CHUNK, seed=SEED + index)
        parts.append(part.head(min(GENERATE_CHUNK, rows - start)))
    return pl.concat(parts) if len(parts) > 1 else parts[0]


def history_path(rows: int, head_of: Path | None = None) -> Path:
    """The cached Parquet history of ``rows`` rows under bench/out/, made when missing.

    It is cut from ``head_of`` when given, else from any larger cached history (all are heads of
    the same chunked generation), else generated.
    """
    from refundable.synthetic import write_history

    path = OUT / f"history-{rows_label(rows)}.parquet"
    if path.is_file():
        return path
    started = time.perf_counter()
    larger = [head_of] if head_of else sorted(OUT.glob("history-*.parquet"),
                                              key=lambda p: p.stat().st_size)
    frame = None
    for candidate in larger:  # reuse a larger cached history: ours is its head
        other = pl.scan_parquet(candidate)
        if other.select(pl.len()).collect().item() >= rows:
            frame = other.head(rows).collect()
            log(f"{path.name}: first {rows:,} rows of {candidate.name}")
            break
    if frame is None:
        log(f"generating {rows:,} rows (generate_history, 1 M-row chunks) …")
        frame = generated_history(rows)
    write_history(frame, path)
    log(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:.0f} MB) in "
        f"{time.perf_counter() - started:.1f} s")
    return path


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary_ns(samples: Iterable[int]) -> dict[str, float]:
    """Median, p90, p99, mean and min of timings in nanoseconds, returned in microseconds."""
    ordered = sorted(samples)
    micro = [s / 1000.0 for s in ordered]
    return {"median_us": percentile(micro, 0.5), "p90_us": percentile(micro, 0.9),
            "p99_us": percentile(micro, 0.99), "mean_us": sum(micro) / len(micro),
            "min_us": micro[0], "samples": len(micro)}


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import numpy

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        affinity = os.cpu_count()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_available": affinity,
        "memory_gib": memory_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "polars": pl.__version__,
        "polars_threads": pl.thread_pool_size(),
        "numpy": numpy.__version__,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "commit": _git_state(),
    }


def _git_state() -> str:
    """The commit measured, ``+ local changes`` when the tree differs from it (read-only git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
        changes = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain",
                                  "--untracked-files=no"], cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} + local changes" if changes else head


def format_machine(info: dict[str, Any]) -> str:
    return (f"{info['date']} — {info['cpu']}, {info['cores']} cores "
            f"({info['cores_available']} available, Polars uses {info['polars_threads']} "
            f"threads), {info['memory_gib']} GiB RAM, {info['os']}, Python {info['python']}, "
            f"Polars {info['polars']}, NumPy {info['numpy']}, load average "
            f"{' '.join(str(x) for x in info['load_average'])}; commit {info['commit']}")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
          align: str | None = None) -> str:
    """A plain-text table; ``align`` is one letter per column (l or r), default: first left."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)
    lines = []
    for number, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if a == "l" else c.rjust(w)
                               for c, w, a in zip(row, widths, align, strict=True)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
