"""The crash test: refunds killed with SIGKILL at every step of the path, then reconciled.

For each run, a worker process (forked from this one, Django already loaded) executes one
approved refund and is killed with SIGKILL at one of the points of the path — before the
provider call, after it, before the commit of the answer, after that commit — or not at all;
some runs also have the sandbox provider lose the request or the answer, or send its
settlement webhook twice. After each batch the sandbox's webhooks are delivered and the
reconciler runs (as the worker's periodic batch would) until nothing is left open, and the
books are checked:

- every approved refund succeeded, exactly once at the provider (one sandbox refund per
  idempotency key, none the provider made without us), for exactly its amount;
- for every charge: refunded = the sum of its succeeded refunds = what the provider paid out,
  nothing left pending, refunded ≤ captured (also a database CHECK);
- one ``refund.succeeded`` audit event per refund.

Usage::

    python tools/crash_test.py --runs 2000 [--database sqlite|postgres] [--batch 200] [--json]

It builds its own database (a SQLite file in a temporary directory, or a fresh PostgreSQL
database on ``REFUNDABLE_TEST_POSTGRES``) and removes it afterwards. Exit code 0 when every
check holds, 1 otherwise. ``docs/reliability.md`` records the runs made.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

POINTS = ("before_provider_call", "after_provider_call", "before_commit", "after_commit")
FAULTS = ("timeout_before", "timeout_after", "webhook_twice")
PG_URL = os.environ.get("REFUNDABLE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _prepare_environment(database: str, workdir: Path) -> str | None:
    """Point Django at a fresh database; returns the PostgreSQL database name to drop."""
    os.environ["REFUNDABLE_DATA_DIR"] = str(workdir)
    os.environ["REFUNDABLE_SANDBOX_SETTLE_SECONDS"] = "0"
    os.environ["REFUNDABLE_RECONCILE_GRACE_SECONDS"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refundable.settings")
    os.environ.pop("DATABASE_URL", None)
    if database == "sqlite":
        return None
    import psycopg

    name = f"refundable_crash_{os.getpid()}"
    with psycopg.connect(PG_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlparse(PG_URL)._replace(path=f"/{name}").geturl()
    return name


def _drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _make_refunds(count: int, rng: random.Random) -> list[str]:
    """``count`` reserved refunds, two or three per charge (so a charge's books add up several
    refunds), each for a part of the charge."""
    from django.db import transaction

    from refundable.audit.services import Actor
    from refundable.billing.models import Charge
    from refundable.payments.services import refund_reserve
    from refundable.testing.factories import ChargeFactory

    actor = Actor.system("crash-test")
    ids: list[str] = []
    first = ChargeFactory.create(amount=9000)  # one customer and subscription, many orders
    while len(ids) < count:
        parts = min(rng.choice((1, 2, 3)), count - len(ids))
        charge = first if not ids else ChargeFactory.create(
            amount=9000, order__customer=first.order.customer,
            order__subscription=first.order.subscription)
        with transaction.atomic():
            locked = Charge.objects.select_for_update().get(pk=charge.pk)
            for _ in range(parts):
                refund = refund_reserve(actor=actor, charge=locked,
                                        amount=rng.choice((1000, 2500, 3000)), request_id=None)
                ids.append(refund.id)
    return ids


def _run_one(refund_id: str, point: str | None, fault: str | None) -> int:
    """Fork a worker that executes one refund, armed to die at ``point``. Returns its wait
    status."""
    from django.db import connections

    connections.close_all()  # the child must open its own connection
    pid = os.fork()
    if pid == 0:  # the worker
        code = 0
        try:
            from refundable.audit.services import Actor
            from refundable.payments.crash import crash_arm
            from refundable.payments.models import SandboxFault
            from refundable.payments.services import refund_execute

            if fault:
                SandboxFault.objects.create(kind=fault)
            if point:
                crash_arm(point, refund_id)
            refund_execute(actor=Actor.system("crash-worker"), refund_id=refund_id)
        except BaseException as exc:  # report, never hang the parent
            print(f"worker error on {refund_id}: {exc!r}", file=sys.stderr)
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def _reconcile_until_settled(rounds: int = 10) -> int:
    from refundable.audit.services import Actor
    from refundable.payments.models import Refund, SandboxFault
    from refundable.payments.provider_events import sandbox_webhooks_deliver
    from refundable.payments.services import refunds_reconcile

    SandboxFault.objects.all().delete()  # leftovers of runs killed before using theirs
    for used in range(1, rounds + 1):
        # The sandbox's settlement webhooks (some sent twice) race the reconciler's answers.
        sandbox_webhooks_deliver()
        refunds_reconcile(actor=Actor.system("reconciler"), limit=100_000)
        if not Refund.objects.filter(status__in=Refund.OPEN).exists():
            return used
    return rounds


def _check(refund_ids: list[str]) -> list[str]:
    """Every invariant of the money; a list of what is wrong (empty: all good)."""
    from django.db.models import Count, Sum

    from refundable.audit.models import AuditEvent
    from refundable.billing.models import Charge
    from refundable.payments.models import Refund, SandboxCharge, SandboxRefund

    problems: list[str] = []
    refunds = {r.id: r for r in Refund.objects.filter(id__in=refund_ids)}
    if len(refunds) != len(refund_ids):
        problems.append(f"{len(refund_ids) - len(refunds)} refunds lost from the database")
    not_done = [r.id for r in refunds.values() if r.status != "succeeded"]
    if not_done:
        problems.append(f"{len(not_done)} refunds not succeeded, e.g. {not_done[:3]}")
    paid = {row["idempotency_key"]: row for row in SandboxRefund.objects.filter(
        idempotency_key__in=refund_ids).values("idempotency_key").annotate(
        n=Count("id"), total=Sum("amount"))}
    duplicated = [k for k, row in paid.items() if row["n"] != 1]
    if duplicated:
        problems.append(f"{len(duplicated)} refunds paid more than once: {duplicated[:3]}")
    missing = [r for r in refunds if r not in paid]
    if missing:
        problems.append(f"{len(missing)} refunds never paid by the provider: {missing[:3]}")
    strangers = list(SandboxRefund.objects.exclude(
        idempotency_key__in=Refund.objects.values("id")).values_list("idempotency_key",
                                                                    flat=True)[:3])
    if strangers:
        problems.append(f"{len(strangers)} provider refunds we know nothing of: {strangers[:3]}")
    wrong_amount = [r.id for r in refunds.values()
                    if r.id in paid and paid[r.id]["total"] != r.amount]
    if wrong_amount:
        problems.append(f"{len(wrong_amount)} refunds paid a different amount")
    succeeded = Counter(AuditEvent.objects.filter(
        action="refund.succeeded", object_type="payments.refund").values_list(
        "object_id", flat=True))
    not_once = [r for r in refunds if succeeded[r] != 1]
    if not_once:
        problems.append(f"{len(not_once)} refunds without exactly one success event")
    sandbox = dict(SandboxCharge.objects.values_list("reference", "refunded"))
    for charge in Charge.objects.filter(refunds__id__in=refund_ids).distinct():
        ours = sum(r.amount for r in refunds.values()
                   if r.charge_id == charge.pk and r.status == "succeeded")
        if charge.pending_amount != 0 or charge.refunded_amount != ours:
            problems.append(f"charge {charge.pk}: refunded {charge.refunded_amount}, pending "
                            f"{charge.pending_amount}, succeeded refunds {ours}")
        if sandbox.get(charge.reference, 0) != charge.refunded_amount:
            problems.append(f"charge {charge.pk}: the provider paid out "
                            f"{sandbox.get(charge.reference, 0)}, we recorded "
                            f"{charge.refunded_amount}")
        if charge.refunded_amount + charge.pending_amount > charge.amount:
            problems.append(f"charge {charge.pk}: more refunded than captured")
    return problems


def run(*, runs: int, database: str, batch: int, seed: int, progress: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="refundable-crash-"))
    pg_name = _prepare_environment(database, workdir)
    started = time.monotonic()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        rng = random.Random(seed)
        killed: Counter[str] = Counter()
        planned: Counter[str] = Counter()
        faults: Counter[str] = Counter()
        errors = 0
        problems: list[str] = []
        reconcile_rounds = 0
        done = 0
        while done < runs:
            size = min(batch, runs - done)
            ids = _make_refunds(size, rng)
            for index, refund_id in enumerate(ids):
                # Every point in turn, and one run in five without a kill.
                slot = (done + index) % (len(POINTS) + 1)
                point = POINTS[slot] if slot < len(POINTS) else None
                fault = rng.choice(FAULTS) if rng.random() < 0.2 else None
                planned[point or "none"] += 1
                if fault:
                    faults[fault] += 1
                status = _run_one(refund_id, point, fault)
                if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                    killed[point or "none"] += 1
                elif os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
                    errors += 1
            reconcile_rounds = max(reconcile_rounds, _reconcile_until_settled())
            batch_problems = _check(ids)
            problems += batch_problems
            done += size
            if progress:
                print(f"  {done}/{runs} runs, {sum(killed.values())} kills, "
                      f"{len(problems)} problems", file=sys.stderr, flush=True)
        return {
            "database": database, "runs": runs, "batch": batch, "seed": seed,
            "kills": dict(killed), "planned_points": dict(planned),
            "faults": dict(faults), "worker_errors": errors,
            "max_reconcile_rounds": reconcile_rounds, "problems": problems[:20],
            "problem_count": len(problems), "ok": not problems and errors == 0,
            "seconds": round(time.monotonic() - started, 1),
        }
    finally:
        from django.db import connections

        connections.close_all()
        if pg_name:
            _drop_postgres(pg_name)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    if args.runs < 1 or args.batch < 1:
        parser.error("--runs and --batch must be at least 1")
    result = run(runs=args.runs, database=args.database, batch=args.batch, seed=args.seed,
                 progress=not args.json and sys.stderr.isatty())
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['runs']} runs on {result['database']} in {result['seconds']} s: "
              f"kills by point {result['kills']}, sandbox faults {result['faults']}, "
              f"worker errors {result['worker_errors']}, reconciler rounds ≤ "
              f"{result['max_reconcile_rounds']}")
        print("OK: every refund executed exactly once, books balanced" if result["ok"]
              else f"FAILED: {result['problem_count']} problems: {result['problems']}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
