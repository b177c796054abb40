"""Generated facts histories for demos, tests and benchmarks (reproducible from a seed).

The mix is plausible for a subscription business selling monthly and annual plans through
several channels in France, Germany, Belgium, the UK and the US, with every reason, outage and
troubleshooting state the example policies look at. Datetimes are ISO 8601 strings with the
customer's UTC offset, as a history file carries them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from .policy.facts import REASONS

_COUNTRIES = {  # country: (share, currency, UTC offsets in minutes)
    "FR": (0.33, "EUR", (60, 120)), "DE": (0.2, "EUR", (60, 120)), "BE": (0.05, "EUR", (60,)),
    "GB": (0.15, "GBP", (0, 60)), "US": (0.27, "USD", (-300, -480)),
}
_PERIODS = {  # period: (share, offset for period_end, prices)
    "month": (0.45, "1mo", (999, 1499)), "year": (0.38, "1y", (4999, 8999)),
    "quarter": (0.06, "3mo", (2799,)), "week": (0.06, "1w", (299,)),
    "lifetime": (0.05, None, (19999,)),
}
_CHANNELS = {"direct": 0.75, "reseller": 0.08, "apple_app_store": 0.07, "google_play": 0.07,
             "third_party": 0.03}
_TROUBLESHOOTING = {"none": 0.4, "in_progress": 0.2, "resolved": 0.1, "unresolved": 0.25,
                    "refused": 0.05}
_CAUSES = {"vendor": 0.5, "maintenance": 0.2, "isp": 0.2, "third_party": 0.1}
_START = 1735689600  # 2025-01-01T00:00:00Z
_SPAN = 640 * 86400


def _pick(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    names = list(table)
    weights = np.array([table[k] for k in names], dtype=float)
    return np.array(names, dtype=object)[rng.choice(len(names), size=n,
                                                    p=weights / weights.sum())]


def _iso(epoch: pl.Expr, offset_minutes: pl.Expr) -> pl.Expr:
    """Epoch seconds → ISO 8601 text in the given offset (``2026-03-01T10:00:00+01:00``)."""
    local = pl.from_epoch(epoch + offset_minutes * 60, time_unit="s")
    sign = pl.when(offset_minutes < 0).then(pl.lit("-")).otherwise(pl.lit("+"))
    magnitude = offset_minutes.abs()
    hours = (magnitude // 60).cast(pl.String).str.zfill(2)
    minutes = (magnitude % 60).cast(pl.String).str.zfill(2)
    return local.dt.strftime("%Y-%m-%dT%H:%M:%S") + sign + hours + ":" + minutes


def generate_history(rows: int, seed: int = 2026) -> pl.DataFrame:
    """``rows`` facts rows, the same for the same seed."""
    rng = np.random.default_rng(seed)
    country = _pick(rng, {c: v[0] for c, v in _COUNTRIES.items()}, rows)
    offsets = np.array([_COUNTRIES[c][2][i % len(_COUNTRIES[c][2])]
                        for c, i in zip(country, rng.integers(0, 2, rows), strict=True)])
    period = _pick(rng, {p: v[0] for p, v in _PERIODS.items()}, rows)
    price_pick = rng.integers(0, 2, rows)
    amount = np.array([_PERIODS[p][2][i % len(_PERIODS[p][2])]
                       for p, i in zip(period, price_pick, strict=True)], dtype=np.int64)
    purchased = _START + rng.integers(0, _SPAN, rows)
    delay_kind = rng.random(rows)
    delay = np.where(delay_kind < 0.3, rng.integers(0, 4 * 86400, rows),
                     np.where(delay_kind < 0.7, rng.integers(0, 70 * 86400, rows),
                              rng.integers(0, 365 * 86400, rows)))
    channel = _pick(rng, _CHANNELS, rows)
    reason = np.array(REASONS, dtype=object)[rng.integers(0, len(REASONS), rows)]
    troubleshooting = _pick(rng, _TROUBLESHOOTING, rows)
    has_outage = rng.random(rows) < 0.15
    outage_hours = np.where(has_outage, np.round(rng.random(rows) * 240) / 2, 0.0)
    causes = _pick(rng, _CAUSES, rows)
    cause = [c if o else None for c, o in zip(causes.tolist(), has_outage.tolist(), strict=True)]
    is_renewal = rng.random(rows) < 0.4
    sent = rng.random(rows) < 0.8
    notice = [s if r else None for s, r in zip(sent.tolist(), is_renewal.tolist(), strict=True)]
    documents = np.where(
        (reason == "special_circumstances") & (rng.random(rows) < 0.6),
        np.where(rng.random(rows) < 0.5, "death_certificate", "medical_certificate"), "")
    partial = rng.random(rows) < 0.05
    already = np.where(partial, (amount * rng.random(rows) * 0.5).astype(np.int64), 0)
    payment = np.where(np.isin(channel, ["apple_app_store", "google_play"]), "store",
                       _pick(rng, {"card": 0.75, "paypal": 0.2, "bank": 0.05}, rows))
    started_gap = rng.integers(0, 96 * 3600, rows)
    frame = pl.DataFrame({
        "_purchased": purchased, "_offset": offsets, "_delay": delay, "_gap": started_gap,
        "plan_period": period.astype(str), "channel": channel.astype(str), "amount": amount,
        "currency": [_COUNTRIES[c][1] for c in country], "already_refunded": already,
        "is_renewal": is_renewal, "country": country.astype(str),
        "consumer": rng.random(rows) < 0.9, "reason": reason.astype(str),
        "documents": documents.astype(str),
        "usage_fraction": np.round(rng.random(rows), 2),
        "troubleshooting": troubleshooting.astype(str),
        "outage_hours": outage_hours,
        "outage_cause": pl.Series(cause, dtype=pl.String),
        "renewal_notice_sent": pl.Series(notice, dtype=pl.Boolean),
        "withdrawal_waived": rng.random(rows) < 0.1,
        "payment_method": payment.astype(str),
    })
    period_end_epoch = pl.when(pl.col("plan_period") == "lifetime").then(None).otherwise(
        pl.from_epoch("_purchased", time_unit="s").dt.offset_by(
            pl.col("plan_period").replace_strict(
                {p: v[1] or "0d" for p, v in _PERIODS.items()}, return_dtype=pl.String))
        .dt.epoch("s"))
    started = pl.max_horizontal(pl.col("_purchased"),
                                pl.col("_purchased") + pl.col("_delay") - pl.col("_gap"))
    frame = frame.with_columns(
        purchased_at=_iso(pl.col("_purchased"), pl.col("_offset")),
        period_end=_iso(period_end_epoch, pl.col("_offset")),
        requested_at=_iso(pl.col("_purchased") + pl.col("_delay"), pl.col("_offset")),
        troubleshooting_started_at=pl.when(pl.col("troubleshooting") != "none").then(
            _iso(started, pl.col("_offset"))),
    )
    ordered = ["plan_period", "channel", "purchased_at", "period_end", "amount", "currency",
               "already_refunded", "is_renewal", "country", "consumer", "requested_at",
               "reason", "documents", "usage_fraction", "troubleshooting",
               "troubleshooting_started_at", "outage_hours", "outage_cause",
               "renewal_notice_sent", "withdrawal_waived", "payment_method"]
    return frame.select(ordered)


def write_history(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write as Parquet (``.parquet``) or CSV (anything else)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix == ".parquet":
        frame.write_parquet(target)
    else:
        frame.write_csv(target)
    return target
