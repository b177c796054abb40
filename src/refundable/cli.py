"""The ``refundable`` command: ``decide``, ``check`` and ``backtest``; for the service ``serve``,
``worker``, ``import``, ``mail-receive``, ``demo`` and ``manage``.

Exit codes: 0 success; 1 invalid input (a policy, facts or history that does not validate, a
``check`` that found problems, an ``import`` that rejected rows or could not read its file);
2 wrong usage (unknown option, missing argument).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .backtest import HistoryError, compare, read_history, run_scalar, run_vector, summarise
from .policy import Decision, FactsError, Policy, PolicyErrors, decide, load_floor, load_policy
from .policy.facts import DERIVED, parse_facts
from .policy.money import format_money

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class InputError(Exception):
    """Invalid input named for the user; printed without a traceback."""


def _load_policy(path: str) -> Policy:
    try:
        return load_policy(path)
    except PolicyErrors as exc:
        raise InputError("\n".join(str(e) for e in exc.errors)) from None


def _floor(disabled: bool) -> tuple[Policy, ...]:
    return () if disabled else load_floor()


def _read_facts(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the facts file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: the facts file is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg} "
                         f"(column {exc.colno})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the facts must be a JSON object of fact names to values")
    return data


def _money(amount: int | None, currency: str, language: str) -> str:
    return "" if amount is None else format_money(amount, currency, language)


def render_decision(decision: Decision, language: str) -> str:
    """The human-readable form of a decision, for people at a terminal."""
    lines = []
    head = decision.outcome.upper().replace("_", " ")
    if decision.amount is not None:
        head += f"  {_money(decision.amount, decision.currency, language)}"
    lines.append(head)
    lines.append(f"  {decision.message(language)}")
    lines.append("")
    rule = decision.rule or "(no rule matched: a person reviews it)"
    lines.append(f"rule      {rule}  ({decision.decided_by})")
    lines.append(f"policy    {decision.policy}")
    if decision.reason:
        lines.append(f"reason    {decision.reason}")
    if decision.due_by:
        lines.append(f"due by    {decision.due_by.isoformat()}")
    if decision.documents_required:
        lines.append(f"documents {', '.join(decision.documents_required)}")
    if decision.retry_after:
        lines.append(f"retry at  {decision.retry_after.isoformat()}")
    if decision.to:
        lines.append(f"go to     {decision.to}")
    for choice in decision.choices:
        if choice.kind == "extension":
            lines.append(f"choice    extension of {choice.days} days + {choice.bonus_days} "
                         "bonus days")
        else:
            lines.append(f"choice    {choice.kind} "
                         f"{_money(choice.amount, decision.currency, language)}")
    if decision.minimum_amount:
        lines.append(f"minimum   {_money(decision.minimum_amount, decision.currency, language)}"
                     " (the statutory floor: the review cannot grant less)")
    floor = ", ".join(decision.statutory) or "no statutory pack applies"
    applied = " — the statutory floor decided" if decision.floor_applied else ""
    lines.append(f"law       {floor}{applied}")
    lines.append("")
    lines.append("explanation (rules tried in order, first match wins):")
    for entry in decision.explanation():
        mark = "✓" if entry["matched"] else "✗"
        lines.append(f"  {mark} {entry['policy']} {entry['rule']}: {entry['why']}")
    return "\n".join(lines)


def cmd_decide(args: argparse.Namespace) -> int:
    policy = _load_policy(args.policy)
    raw = _read_facts(args.facts)
    try:
        facts = parse_facts(raw)
    except FactsError as exc:
        raise InputError(f"{args.facts}: {exc.field}: {exc.message}") from None
    decision = decide(policy, facts, _floor(args.no_floor))
    if args.language:
        decision.language = args.language
    language = decision.language
    if args.json:
        print(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_decision(decision, language))
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    status = EXIT_OK
    results = []
    for path in args.files:
        try:
            policy = load_policy(path)
        except PolicyErrors as exc:
            status = EXIT_INVALID
            results.append({"path": path, "valid": False,
                            "errors": [e.to_dict() for e in exc.errors]})
            if not args.json:
                for error in exc.errors:
                    print(error, file=sys.stderr)
            continue
        results.append({"path": path, "valid": True, "policy": policy.ref,
                        "rules": len(policy.rules)})
        if not args.json:
            count = len(policy.rules)
            print(f"{path}: ok — {policy.ref}, {count} rule{'s' if count != 1 else ''}")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return status


def _format_table(title: str, table: dict[str, Any], total: int) -> list[str]:
    width = max((len(k) for k in table), default=10)
    lines = [f"{title:<{width + 2}}  {'count':>10}  {'share':>7}  money"]
    for key, entry in table.items():
        share = 100.0 * entry["count"] / total if total else 0.0
        money = ", ".join(f"{format_money(v, c)}" for c, v in sorted(entry["amounts"].items())
                          if v) or "-"
        lines.append(f"  {key:<{width}}  {entry['count']:>10,}  {share:5.1f} %  {money}")
    return lines


def cmd_backtest(args: argparse.Namespace) -> int:
    policy = _load_policy(args.policy)
    baseline = _load_policy(args.against) if args.against else None
    floor = _floor(args.no_floor)
    started = time.perf_counter()
    try:
        history = read_history(args.history)
    except HistoryError as exc:
        raise InputError(str(exc)) from None
    for column in history.columns:
        if column in DERIVED:
            raise InputError(f"{args.history}: column {column!r} is a derived fact, computed by "
                             "the engine; remove it from the history")
    progress = None if not args.no_progress else False
    run = run_vector if args.engine == "vector" else run_scalar
    result = run(policy, floor, history, progress=progress)
    currencies = history["currency"].cast(str).str.to_uppercase() \
        if "currency" in history.columns else None
    summary = summarise(result, policy, currencies)
    summary["engine"] = args.engine
    if baseline is not None:
        other = run(baseline, floor, history, progress=progress)
        summary["against"] = {"policy": baseline.ref, **compare(other, result, currencies)}
    elapsed = time.perf_counter() - started
    summary["seconds"] = round(elapsed, 3)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return EXIT_OK
    decided = summary["decided"]
    print(f"{policy.ref} on {args.history}: {summary['rows']:,} rows, {decided:,} decided, "
          f"{summary['invalid']:,} invalid ({args.engine} engine, {elapsed:.2f} s)")
    print()
    for line in _format_table("by outcome", summary["outcomes"],
                              decided):
        print(line)
    print()
    for line in _format_table("by rule", summary["rules"], decided):
        print(line)
    if summary["errors"]:
        print()
        print(f"invalid rows (first {len(summary['errors'])} of {summary['invalid']:,}):")
        for error in summary["errors"]:
            print(f"  row {error['row']}: {error['field']}: {error['message']}")
    if "against" in summary:
        against = summary["against"]
        print()
        print(f"against {against['policy']}: {against['decisions_changed']:,} of "
              f"{against['decisions_compared']:,} decisions change")
        for currency, money in against["refunded_by_currency"].items():
            delta = money["delta"]
            sign = "+" if delta >= 0 else "-"
            print(f"  refunded {format_money(money['before'], currency)} → "
                  f"{format_money(money['after'], currency)} "
                  f"({sign}{format_money(abs(delta), currency)})")
        print("  decisions that move (from → to):")
        for move in against["transitions"]:
            print(f"  {move['from']:>18} → {move['to']:<18} {move['count']:>10,}")
    return EXIT_OK


def _django() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refundable.settings")
    django.setup()


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the web application with gunicorn (production); migrations run first.

    DEBUG is off unless the environment says otherwise, so a SECRET_KEY is required."""
    import os

    if args.workers < 1 or args.threads < 1:
        raise InputError("--workers and --threads must be at least 1")
    os.environ.setdefault("DEBUG", "0")
    if os.environ["DEBUG"] != "1" and not os.environ.get("SECRET_KEY"):
        raise InputError("SECRET_KEY is not set: production serving needs a secret key "
                         "(or DEBUG=1 for a development server)")
    _django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    command = [sys.executable, "-m", "gunicorn", "refundable.wsgi", "--bind", args.bind,
               "--workers", str(args.workers)]
    if args.threads > 1:
        # gthread keeps connections alive, but each stays with the worker that accepted it,
        # so the workers' load can be uneven: sync is the default (docs/benchmarks-api.md).
        command += ["--worker-class", "gthread", "--threads", str(args.threads)]
    if not args.no_access_log:
        command += ["--access-logfile", "-"]
    import subprocess

    return subprocess.call(command)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the job worker (e-mail, troubleshooting clocks, SLA escalation, refunds and their
    reconciliation) until stopped."""
    _django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    if not args.once:
        from .desk.tasks import sla_escalation_schedule
        from .payments.tasks import money_batch_schedule
        from .webhooks.tasks import webhook_sweep_schedule

        sla_escalation_schedule()  # the periodic SLA batch re-queues itself from then on
        money_batch_schedule()  # reconciliation, sandbox settlement, overdue refunds
        webhook_sweep_schedule()  # re-queues webhook deliveries whose job was lost
    options = ["--batch"] if args.once else []
    call_command("db_worker", *options, "--interval", str(args.interval))
    return EXIT_OK


IMPORT_SHOWN = 50  # rejected rows printed by `refundable import` (all of them with --json)


def cmd_import(args: argparse.Namespace) -> int:
    """Load customers, subscriptions or orders from a CSV file; report the rejected rows."""
    _django()
    from django.core.management import call_command
    from django.db import DatabaseError

    from .customers.imports import ImportFileError, import_csv

    try:
        call_command("migrate", interactive=False, verbosity=0)
        report = import_csv(args.kind, args.file, dry_run=args.dry_run)
    except ImportFileError as exc:
        raise InputError(str(exc)) from None
    except DatabaseError as exc:
        raise InputError(f"database error: {str(exc).strip()}") from None
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK if report.ok else EXIT_INVALID
    imported = "would be imported" if report.dry_run else "imported"
    print(f"{report.file} ({report.kind}): {report.rows_read} row"
          f"{'s' if report.rows_read != 1 else ''} read — {report.imported} {imported}, "
          f"{report.already_present} already present, {report.rejected} rejected"
          + (" (dry run: nothing was written)" if report.dry_run else ""))
    if report.ignored_columns:
        print(f"ignored columns: {', '.join(report.ignored_columns)}")
    if report.errors:
        shown = report.errors[:IMPORT_SHOWN]
        more = len(report.errors) - len(shown)
        print()
        print(f"rejected rows ({len(report.errors)} problem{'s' if len(report.errors) != 1 else ''}"
              + (f", the first {len(shown)} shown; --json lists them all" if more else "") + "):")
        for error in shown:
            print(error)
    return EXIT_OK if report.ok else EXIT_INVALID


def cmd_mail_receive(args: argparse.Namespace) -> int:
    """Customers' e-mail replies into their tickets: an SMTP/LMTP listener, or one message
    from stdin (the ``mail_receive`` management command does the work)."""
    _django()
    from django.core.management import call_command
    from django.core.management.base import CommandError

    options = ["--stdin"] if args.stdin else ["--host", args.host, "--port", str(args.port)]
    options += ["--lmtp"] if args.lmtp else []
    for recipient in args.recipient:
        options += ["--recipient", recipient]
    try:
        call_command("mail_receive", *options)
    except CommandError as exc:
        print(f"refundable mail-receive: {exc}", file=sys.stderr)
        return exc.returncode
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """The demo: the engine on the examples, then the demo business served on the web."""
    from .demo import run as engine_demo

    status = engine_demo()
    if args.engine_only:
        return status
    import os

    if "EMAIL_HOST" not in os.environ:  # no SMTP server given: keep the e-mails as files
        os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    _django()
    import subprocess

    from django.conf import settings
    from django.core.management import call_command

    from .customers.demo import CUSTOMER_EMAIL, DEMO_PASSWORDS, demo_load
    from .customers.models import Customer

    call_command("migrate", interactive=False, verbosity=0)
    if not Customer.objects.exists():
        summary = demo_load()
        print(f"\nDemo business loaded: {summary.customers} customers, "
              f"{summary.subscriptions} subscriptions, {summary.requests} refund requests, "
              f"{summary.tickets} tickets.")
    worker = subprocess.Popen([sys.executable, "-m", "refundable", "worker"])
    host = args.bind
    print(f"""
Refundable is running on http://{host}/  (Ctrl-C to stop)
  customer portal  http://{host}/        {CUSTOMER_EMAIL} / {DEMO_PASSWORDS['customer']}
  agent desk       http://{host}/desk/   agent / {DEMO_PASSWORDS['agent']}
  operator         http://{host}/desk/   operator / {DEMO_PASSWORDS['operator']}
  JSON API         http://{host}/api/v1/docs
The worker sends the e-mails: to files in {settings.EMAIL_FILE_PATH} (or to the SMTP server
at $EMAIL_HOST:$EMAIL_PORT when EMAIL_HOST is set). It also sends the approved refunds to the
sandbox provider, which settles them {settings.REFUNDABLE_SANDBOX_SETTLE_SECONDS} s later (the
desk's Money page: http://{host}/desk/money/). The demo database is
{settings.DATABASES["default"]["NAME"]} (delete it to start afresh).
""", flush=True)
    try:
        call_command("runserver", host, "--noreload", "--insecure")
        return EXIT_OK
    finally:
        worker.terminate()
        worker.wait(timeout=10)


def cmd_manage(args: argparse.Namespace) -> int:
    """Django's management commands (migrate, demo_load, createsuperuser…)."""
    _django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["refundable manage", *args.arguments])
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refundable", description="Refund policies: decide, check and backtest; the "
                                       "service: serve, worker, import, mail-receive, demo, "
                                       "manage.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    decide_cmd = commands.add_parser("decide", help="decide one request")
    decide_cmd.add_argument("--policy", required=True, help="policy document (TOML)")
    decide_cmd.add_argument("--facts", required=True, help="facts (JSON file, or - for stdin)")
    decide_cmd.add_argument("--json", action="store_true", help="print the decision as JSON")
    decide_cmd.add_argument("--language", choices=("en", "fr"),
                            help="language of the message (default: the customer's)")
    decide_cmd.add_argument("--no-floor", action="store_true",
                            help="leave out the statutory floor (what-if only)")
    decide_cmd.set_defaults(handler=cmd_decide)

    check_cmd = commands.add_parser("check", help="validate policy documents")
    check_cmd.add_argument("files", nargs="+", metavar="FILE")
    check_cmd.add_argument("--json", action="store_true", help="print results as JSON")
    check_cmd.set_defaults(handler=cmd_check)

    back = commands.add_parser("backtest", help="evaluate a history of facts")
    back.add_argument("--policy", required=True, help="policy document (TOML)")
    back.add_argument("--against", help="baseline policy to compare with")
    back.add_argument("--history", required=True, help="facts history (CSV or Parquet)")
    back.add_argument("--engine", choices=("vector", "scalar"), default="vector")
    back.add_argument("--json", action="store_true", help="print the summary as JSON")
    back.add_argument("--no-floor", action="store_true",
                      help="leave out the statutory floor (what-if only)")
    back.add_argument("--no-progress", action="store_true", help="no progress bar")
    back.set_defaults(handler=cmd_backtest)

    serve = commands.add_parser("serve", help="serve the web application (gunicorn)")
    serve.add_argument("--bind", default="127.0.0.1:8000", help="address:port")
    serve.add_argument("--workers", type=int, default=2,
                       help="gunicorn worker processes (default 2: one per core)")
    serve.add_argument("--threads", type=int, default=1,
                       help="threads per worker (default 1: sync workers, for use behind a "
                            "reverse proxy; more: gthread workers with keep-alive)")
    serve.add_argument("--no-access-log", action="store_true",
                       help="no access log line per request on standard output (about 10 %% "
                            "of the API's GET throughput; a reverse proxy may log instead)")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run the job worker")
    worker.add_argument("--once", action="store_true", help="run the queued jobs, then exit")
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    worker.set_defaults(handler=cmd_worker)

    load = commands.add_parser(
        "import", help="load customers, subscriptions or orders from a CSV file",
        description="Load customers, subscriptions or orders from a CSV file (UTF-8, header "
                    "row). Valid rows are imported, each in its own transaction; rows already in "
                    "the database are left as they are; rejected rows are listed with their "
                    "line and column. Exit code 1 when any row is rejected.")
    load.add_argument("kind", choices=("customers", "subscriptions", "orders"))
    load.add_argument("file", metavar="FILE", help="CSV file")
    load.add_argument("--json", action="store_true", help="print the report as JSON")
    load.add_argument("--dry-run", action="store_true",
                      help="validate and import inside a transaction that is rolled back: "
                           "the same report, nothing written")
    load.set_defaults(handler=cmd_import)

    mail = commands.add_parser(
        "mail-receive", help="receive customers' e-mail replies into their tickets",
        description="Receive customers' replies to ticket e-mails: an SMTP (or LMTP) server "
                    "for the MTA to relay REFUNDABLE_INBOUND_ADDRESS's mail to, or one message "
                    "from standard input for an MTA pipe transport (exit code 75 asks the MTA "
                    "to try again later). See docs/operations.md.")
    mail.add_argument("--host", default="127.0.0.1", help="address to listen on")
    mail.add_argument("--port", type=int, default=2525, help="port to listen on")
    mail.add_argument("--lmtp", action="store_true", help="speak LMTP instead of SMTP")
    mail.add_argument("--stdin", action="store_true",
                      help="read one message from standard input, then exit")
    mail.add_argument("--recipient", action="append", default=[],
                      help="with --stdin: the envelope recipient (repeat for several)")
    mail.set_defaults(handler=cmd_mail_receive)

    demo = commands.add_parser("demo", help="run the demo (engine examples, then the web app)")
    demo.add_argument("--bind", default="127.0.0.1:8000", help="address:port to serve on")
    demo.add_argument("--engine-only", action="store_true",
                      help="only the engine part (check, decide, backtest the examples)")
    demo.set_defaults(handler=cmd_demo)

    manage = commands.add_parser("manage", help="Django management commands",
                                 add_help=False)
    manage.add_argument("arguments", nargs=argparse.REMAINDER)
    manage.set_defaults(handler=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except InputError as exc:
        print(f"refundable {args.command}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
