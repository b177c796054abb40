"""Policy documents: every problem is reported with its file, line and field.

Line numbers in these tests are counted by hand from the inline documents: the first line of a
document is line 1 (``HEAD`` below takes lines 1 to 5, so a body's first line is line 6).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import pytest

from refundable.policy.document import _PLACEHOLDERS, load_policy, locate_keys, parse_policy
from refundable.policy.engine import decide
from refundable.policy.errors import PolicyError, PolicyErrors
from refundable.policy.facts import parse_facts
from refundable.policy.model import Policy

REPO = Path(__file__).resolve().parents[2]
ANNUAL = REPO / "policies" / "annual-60-day-guarantee.toml"

HEAD = """\
id = "test-policy"
version = 1
title.en = "Test policy"
title.fr = "Politique d'essai"

"""  # lines 1-5

FACTS: dict[str, object] = {
    "plan_period": "year", "purchased_at": "2026-01-15T10:00:00+01:00",
    "period_end": "2027-01-15T10:00:00+01:00", "amount": 8999, "currency": "EUR",
    "country": "FR", "requested_at": "2026-02-01T10:00:00+01:00",
}


def problems(text: str, path: str = "x.toml") -> list[PolicyError]:
    with pytest.raises(PolicyErrors) as caught:
        parse_policy(text, path)
    errors = caught.value.errors
    assert errors, "PolicyErrors without any error"
    assert all(isinstance(e, PolicyError) and e.path == path for e in errors)
    return errors


def problem(text: str, path: str = "x.toml") -> PolicyError:
    errors = problems(text, path)
    assert len(errors) == 1, "\n".join(str(e) for e in errors)
    return errors[0]


def where(error: PolicyError) -> tuple[int | None, str | None]:
    return error.line, error.field


class Source:
    """Runs a document through ``parse_policy`` (inline text) or ``load_policy`` (a file)."""

    def __init__(self, kind: str, directory: Path) -> None:
        self.kind = kind
        self.path = "x.toml" if kind == "inline" else str(directory / "x.toml")

    def load(self, text: str) -> Policy:
        if self.kind == "inline":
            return parse_policy(text, self.path)
        Path(self.path).write_text(text, encoding="utf-8")
        return load_policy(self.path)

    def problem(self, text: str) -> PolicyError:
        with pytest.raises(PolicyErrors) as caught:
            self.load(text)
        assert len(caught.value.errors) == 1, str(caught.value)
        error = caught.value.errors[0]
        assert error.path == self.path
        return error


@pytest.fixture(params=["inline", "file"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Source:
    return Source(request.param, tmp_path)


# -- valid documents -------------------------------------------------------------------------------

def test_the_annual_policy_loads_with_rule_lines() -> None:
    policy = load_policy(ANNUAL)
    assert policy.ref == "annual-60-day-guarantee@1"
    assert policy.path == str(ANNUAL)
    assert [r.id for r in policy.rules] == [
        "app-store-purchases", "reseller-purchases", "duplicate-or-wrongful-charge",
        "monthly-not-refundable", "money-back-60-days", "guarantee-expired", "other-plans"]
    assert [r.index for r in policy.rules] == [1, 2, 3, 4, 5, 6, 7]
    assert [r.line for r in policy.rules] == [21, 28, 35, 43, 51, 60, 68]
    assert policy.title["fr"].startswith("Garantie de remboursement de 60 jours")


def test_a_valid_document(source: Source) -> None:
    policy = source.load(HEAD + dedent("""\
        [[rules]]
        id = "annual-60-days"
        when.plan_period = "year"
        when.days_since_purchase = { max = 60 }
        then = "refund"
        message.en = "Full refund of {amount}."
        message.fr = "Remboursement intégral de {amount}."
        """))
    assert policy.ref == "test-policy@1"
    assert policy.path == source.path
    (rule,) = policy.rules
    assert (rule.id, rule.index, rule.line) == ("annual-60-days", 1, 6)
    assert [c.fact for c in rule.conditions] == ["plan_period", "days_since_purchase"]
    assert rule.then.outcome == "refund"
    assert rule.then.amount is not None
    facts = parse_facts(FACTS)
    assert all(c.test(facts) for c in rule.conditions)
    assert rule.then.amount.amount.evaluate(facts) == Decimal(8999)
    late = parse_facts({**FACTS, "requested_at": "2026-03-20T10:00:00+01:00"})
    assert not rule.conditions[1].test(late)


def test_an_edited_copy_of_the_annual_policy(tmp_path: Path) -> None:
    text = ANNUAL.read_text(encoding="utf-8")
    assert text.count('when.plan_period = "month"') == 1
    path = tmp_path / "annual.toml"
    path.write_text(text.replace('when.plan_period = "month"', 'when.plan_period = "fortnight"'),
                    encoding="utf-8")
    with pytest.raises(PolicyErrors) as caught:
        load_policy(path)
    (error,) = caught.value.errors
    assert (error.path, error.line, error.field) == (str(path), 45, "rules[4].when.plan_period")
    assert "unknown value 'fortnight' for plan_period" in error.message


def test_every_placeholder_renders() -> None:
    names = sorted(_PLACEHOLDERS)
    policy = parse_policy(HEAD + dedent(f"""\
        [[rules]]
        id = "a"
        then = "refund"
        message.en = "{' '.join('{' + n + '}' for n in names)}"
        message.fr = "{{amount}}"
        """))
    decision = decide(policy, parse_facts(FACTS))
    assert decision.outcome == "refund"
    rendered = decision.message("en")
    assert "€89.99" in rendered
    assert "{" not in rendered


# -- unknown facts and values ----------------------------------------------------------------------

def test_unknown_fact(source: Source) -> None:
    error = source.problem(HEAD + dedent("""\
        [[rules]]
        id = "annual"
        when.plan_lenght = "year"
        then = "refund"
        message.en = "Refund of {amount}."
        message.fr = "Remboursement de {amount}."
        """))
    assert where(error) == (8, "rules[1].when.plan_lenght")
    assert "unknown fact 'plan_lenght'" in error.message
    assert str(error).startswith(f"{source.path}:8 [rules[1].when.plan_lenght]: unknown fact")


def test_unknown_enum_value_fortnight(source: Source) -> None:
    error = source.problem(HEAD + dedent("""\
        [[rules]]
        id = "monthly"
        when.plan_period = "month"
        then = "deny"
        reason = "monthly_not_refundable"
        message.en = "No."
        message.fr = "Non."

        [[rules]]
        id = "fortnightly"
        when.plan_period = "fortnight"
        then = "refund"
        message.en = "Yes."
        message.fr = "Oui."
        """))
    assert where(error) == (16, "rules[2].when.plan_period")
    assert "unknown value 'fortnight' for plan_period" in error.message
    assert "week, month, quarter, year, lifetime" in error.message


@pytest.mark.parametrize(("body", "line", "field", "fragment"), [
    # a list of values
    ('[[rules]]\nid = "a"\nwhen.plan_period = ["month", "fortnight"]\n',
     8, "rules[1].when.plan_period", "unknown value 'fortnight'"),
    # an inline table
    ('[[rules]]\nid = "a"\nwhen = { plan_period = "fortnight" }\n',
     8, "rules[1].when.plan_period", "unknown value 'fortnight'"),
    ('[[rules]]\nid = "a"\nwhen.channel = { ne = "shop" }\n',
     8, "rules[1].when.channel.ne", "unknown value 'shop' for channel"),
    ('[[rules]]\nid = "a"\nwhen.reason = { not_in = ["dissatisfied", "bored"] }\n',
     8, "rules[1].when.reason.not_in", "unknown value 'bored' for reason"),
    ('[[rules]]\nid = "a"\nwhen.country = "@NORDIC"\n',
     8, "rules[1].when.country", "unknown country group '@NORDIC'"),
    ('[[rules]]\nid = "a"\nwhen.plan_period = { about = "year" }\n',
     8, "rules[1].when.plan_period.about", "unknown comparison 'about'"),
    ('[[rules]]\nid = "a"\nwhen.plan_period = []\n',
     8, "rules[1].when.plan_period", "in takes a non-empty list, got []"),
    ('[[rules]]\nid = "a"\nwhen.plan_period = {}\n',
     8, "rules[1].when.plan_period", "an empty table sets no condition on plan_period"),
])
def test_unknown_values(body: str, line: int, field: str, fragment: str) -> None:
    error = problem(HEAD + body + 'then = "deny"\nreason = "no"\nmessage.en = "No."\n'
                    'message.fr = "Non."\n')
    assert where(error) == (line, field)
    assert fragment in error.message


def test_unknown_value_in_a_sub_table() -> None:
    error = problem(HEAD + dedent("""\
        [[rules]]
        id = "a"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."

        [rules.when]
        channel = "direct"
        plan_period = "fortnight"
        """))
    assert where(error) == (15, "rules[1].when.plan_period")
    assert "unknown value 'fortnight'" in error.message


# -- wrong types -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("condition", "field", "fragment"), [
    ('when.days_since_purchase = { max = "60" }', "rules[1].when.days_since_purchase.max",
     "days_since_purchase is a number, got '60'"),
    ('when.amount = "8999"', "rules[1].when.amount", "amount is a number, got '8999'"),
    ("when.is_renewal = 1", "rules[1].when.is_renewal", "is_renewal is true or false, got 1"),
    ('when.is_renewal = "yes"', "rules[1].when.is_renewal",
     "is_renewal is true or false, got 'yes'"),
    ('when.first_purchase = ["true"]', "rules[1].when.first_purchase",
     "first_purchase is true or false"),
    ('when.plan_period = { max = "year" }', "rules[1].when.plan_period.max",
     "ranges apply to numbers and dates only"),
    ("when.plan_period = 12", "rules[1].when.plan_period", "unknown value 12 for plan_period"),
    ('when.documents = "death_certificate"', "rules[1].when.documents",
     "documents is a list: use any_of"),
    ('when.documents = { any_of = "death_certificate" }', "rules[1].when.documents.any_of",
     "any_of takes a list of names"),
    ('when.channel = { any_of = ["direct"] }', "rules[1].when.channel.any_of",
     "any_of applies to list facts"),
    ('when.uptime_percent = { null = "yes" }', "rules[1].when.uptime_percent.null",
     "null takes true or false"),
    ("when.days_since_purchase = [1, 2]", "rules[1].when.days_since_purchase",
     "use ranges (min, max, gt, lt) for days_since_purchase"),
    ('when.country = "France"', "rules[1].when.country",
     "'France' is not an ISO 3166-1 alpha-2 country code"),
    ('when.currency = "euro"', "rules[1].when.currency", "not an ISO 4217 currency code"),
    ("when.purchased_at = { ge = 2026-01-01T00:00:00 }", "rules[1].when.purchased_at.ge",
     "has no UTC offset"),
    ("when.plan = 3", "rules[1].when.plan", "plan is a string, got 3"),
    ("if = true", "rules[1].if", "expected an expression in quotes, got True"),
])
def test_wrong_types_in_conditions(condition: str, field: str, fragment: str) -> None:
    error = problem(HEAD + dedent(f"""\
        [[rules]]
        id = "a"
        {condition}
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."
        """))
    assert where(error) == (8, field)
    assert fragment in error.message


@pytest.mark.parametrize(("outcome", "line", "field", "fragment"), [
    ('then = "refund"\npercent = "50"', 9, "rules[1].percent",
     "percent must be between 0 and 100, got '50'"),
    ('then = "refund"\npercent = 150', 9, "rules[1].percent", "between 0 and 100, got 150"),
    ('then = "refund"\nprorata = "unused_days"', 9, "rules[1].prorata",
     "unknown prorata 'unused_days'"),
    ('then = "refund"\nmin_amount = 1.5', 9, "rules[1].min_amount",
     "min_amount must be a whole number >= 0, got 1.5"),
    ('then = "refund"\namount = true', 9, "rules[1].amount",
     "expected an expression in quotes, got True"),
    ('then = "review"\nsla_days = "7"', 9, "rules[1].sla_days",
     "sla_days must be a whole number >= 1, got '7'"),
    ('then = "review"\ndocuments_required = "death_certificate"', 9,
     "rules[1].documents_required", "expected a list of document names"),
    ('then = "troubleshoot_first"\nhours = true', 9, "rules[1].hours",
     "hours must be a whole number >= 1, got True"),
    ('then = "troubleshoot_first"\nhours = 0', 9, "rules[1].hours",
     "hours must be a whole number >= 1, got 0"),
    ('then = "troubleshoot_first"', 6, "rules[1].hours", "troubleshoot_first needs hours"),
    ('then = "redirect"\nto = 3', 9, "rules[1].to", "to must be a channel name"),
    ('then = "refund"\namount = nan', 9, "rules[1].amount", "expected a finite number, got nan"),
    ('then = "fee"\namount = 1000\nfee = inf', 10, "rules[1].fee",
     "expected a finite number, got inf"),
    ('then = "refund"\nsource = 42', 9, "rules[1].source", "source must be a text in quotes"),
    ('then = "refund"\ndescription = ["a"]', 9, "rules[1].description",
     "description must be a text in quotes"),
    ('then = "fee"', 6, "rules[1].amount", "an amount is required"),
    ('then = "offer"\nchoices = []', 9, "rules[1].choices", "an offer needs a list of choices"),
    ('then = "offer"\nchoices = [{ kind = "cash" }]', 9, "rules[1].choices",
     "choice 1: kind must be refund, extension or credit"),
    ('then = "offer"\nchoices = [{ kind = "refund" }]\ndefault = "extension"', 10,
     "rules[1].default", "default must be one of the offered kinds (refund)"),
])
def test_wrong_types_in_outcomes(outcome: str, line: int, field: str, fragment: str) -> None:
    error = problem(HEAD + '[[rules]]\nid = "a"\n' + outcome + '\nmessage.en = "Yes."\n'
                    'message.fr = "Oui."\n')
    assert where(error) == (line, field)
    assert fragment in error.message


def test_offer_choices_as_an_array_of_tables() -> None:
    error = problem(HEAD + dedent("""\
        [[rules]]
        id = "outage"
        then = "offer"
        message.en = "Choose."
        message.fr = "Choisissez."

        [[rules.choices]]
        kind = "refund"

        [[rules.choices]]
        kind = "voucher"
        """))
    assert where(error) == (12, "rules[1].choices")
    assert "choice 2: kind must be refund, extension or credit" in error.message


@pytest.mark.parametrize(("head", "line", "field", "fragment"), [
    ('id = "Test Policy"\nversion = 1\n', 1, "id", "id must be a lower-case identifier"),
    ('id = "t"\nversion = "1"\n', 2, "version", "version must be a whole number >= 1, got '1'"),
    ('id = "t"\nversion = 0\n', 2, "version", "got 0"),
    ('id = "t"\nversion = true\n', 2, "version", "got True"),
    ('id = "t"\nversion = 1\nkind = "law"\n', 3, "kind",
     "kind must be 'merchant' or 'statutory', got 'law'"),
    ('id = "t"\nversion = 1\ntitel = "Test"\n', 3, "titel", "unknown key 'titel'"),
    ('id = "t"\nversion = 1\ndescription = 3\n', 3, "description",
     "description must be a text in quotes, got 3"),
    ('id = "t"\nversion = 1\ngroups.nordic = ["SE", "Norway"]\n', 3, "groups.nordic",
     "'Norway' is not an ISO 3166-1 alpha-2 country code"),
])
def test_top_level_problems(head: str, line: int, field: str, fragment: str) -> None:
    errors = problems(head + dedent("""\
        title.en = "Test"
        title.fr = "Essai"

        [[rules]]
        id = "a"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."
        """))
    assert len(errors) == 1, errors
    assert where(errors[0]) == (line, field)
    assert fragment in errors[0].message


def test_no_rules() -> None:
    error = problem(HEAD)
    assert error.field == "rules"
    assert "at least one [[rules]] table" in error.message


# -- customer messages -----------------------------------------------------------------------------

def test_missing_french_message(source: Source) -> None:
    error = source.problem(HEAD + dedent("""\
        [[rules]]
        id = "a"
        then = "deny"
        reason = "no"
        message.en = "No."
        """))
    # the field points at the rule's message, first written on line 10
    assert where(error) == (10, "rules[1].message.fr")
    assert "missing rules[1].message.fr" in error.message


def test_missing_messages() -> None:
    error = problem(HEAD + '[[rules]]\nid = "a"\nthen = "deny"\nreason = "no"\n')
    assert where(error) == (6, "rules[1].message")
    assert "message.en and rules[1].message.fr" in error.message


def test_missing_french_title() -> None:
    error = problem(dedent("""\
        id = "t"
        version = 1
        title.en = "Test"

        [[rules]]
        id = "a"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."
        """))
    assert where(error) == (3, "title.fr")
    assert "missing title.fr" in error.message


@pytest.mark.parametrize(("fr", "fragment"), [
    ("Remboursement de {amont}.", "unknown placeholder {amont}"),
    ("Remboursement de {}.", "unknown placeholder {}"),
    ("Remboursement de {0}.", "unknown placeholder {0}"),
    ("Remboursement de {amount.real}.", "unknown placeholder {amount.real}"),
    ("Remboursement de {amount:d}.", "placeholder {amount} takes no format"),
    ("Remboursement de {amount!r}.", "placeholder {amount} takes no format"),
    ("Remboursement de 50 %} !", "malformed placeholder"),
    ("Remboursement de {amount", "malformed placeholder"),
])
def test_bad_placeholders(fr: str, fragment: str) -> None:
    error = problem(HEAD + dedent(f"""\
        [[rules]]
        id = "a"
        then = "refund"
        message.en = "Refund of {{amount}}."
        message.fr = "{fr}"
        """))
    assert where(error) == (10, "rules[1].message.fr")
    assert fragment in error.message


def test_escaped_braces_and_known_placeholders_are_fine() -> None:
    policy = parse_policy(HEAD + dedent("""\
        [[rules]]
        id = "a"
        then = "refund"
        message.en = "Refund of {amount} of {refundable_amount} {{not a placeholder}}."
        message.fr = "Remboursement de {amount} ({policy})."
        """))
    assert policy.rules[0].messages["en"].startswith("Refund of {amount}")


def test_unsupported_language() -> None:
    error = problem(HEAD + dedent("""\
        [[rules]]
        id = "a"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."
        message.de = "Nein."
        """))
    assert where(error) == (12, "rules[1].message.de")
    assert "unsupported language 'de'" in error.message


# -- expressions -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("line_text", "field", "fragments"), [
    ('amount = "refundable_amount *"', "rules[1].amount",
     ["in 'refundable_amount *'", "expression ends too early", "(at character 20)"]),
    ('amount = "refundable_amount * (1 - usage_fraction"', "rules[1].amount",
     ["expected ')'"]),
    ('if = "days_since > 3"', "rules[1].if",
     ["unknown fact 'days_since'", "(at character 1)"]),
    ('amount = "amount * is_renewal"', "rules[1].amount", ["arithmetic needs numbers"]),
    ('amount = "amount > 100"', "rules[1].amount", ["expected a number"]),
    ('if = "amount"', "rules[1].if", ["expected a true/false condition"]),
    ('if = "is_renewal + 1 > 0"', "rules[1].if", ["arithmetic needs numbers"]),
    ("amount = \"__import__('os').system('ls')\"", "rules[1].amount",
     ["unexpected character \"'\"", "(at character 12)"]),
    ('amount = "amount.__class__"', "rules[1].amount", ["unexpected character '.'"]),
    ('amount = "plan_period * 2"', "rules[1].amount", ["fact 'plan_period' is an enum"]),
])
def test_bad_expressions(line_text: str, field: str, fragments: list[str]) -> None:
    error = problem(HEAD + dedent(f"""\
        [[rules]]
        id = "a"
        then = "refund"
        {line_text}
        message.en = "Refund of {{amount}}."
        message.fr = "Remboursement de {{amount}}."
        """))
    assert where(error) == (9, field)
    for fragment in fragments:
        assert fragment in error.message


def test_bad_fee_expression() -> None:
    error = problem(HEAD + dedent("""\
        [[rules]]
        id = "early-termination"
        when.payment_schedule = "instalments"
        then = "fee"
        amount = "instalments_remaining * amount / 2"
        fee = "min(amount)"
        message.en = "Fee of {amount}."
        message.fr = "Frais de {amount}."
        """))
    assert where(error) == (11, "rules[1].fee")
    assert "min() takes at least 2 argument(s), got 1" in error.message


# -- rule structure --------------------------------------------------------------------------------

def test_unknown_rule_key(source: Source) -> None:
    error = source.problem(HEAD + dedent("""\
        [[rules]]
        id = "annual"
        wen.plan_period = "year"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."

        [[rules]]
        id = "monthly"
        when.plan_period = "month"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."
        """))
    # the misspelt rule is left out, so it does not make the next rule look unreachable
    assert where(error) == (8, "rules[1].wen")
    assert "unknown rule key 'wen'" in error.message


def test_duplicate_rule_id(source: Source) -> None:
    error = source.problem(HEAD + dedent("""\
        [[rules]]
        id = "no-refund"
        when.plan_period = "month"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."

        [[rules]]
        id = "no-refund"
        when.plan_period = "week"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."
        """))
    assert where(error) == (15, "rules[2].id")
    assert "rule id 'no-refund' is already used by rule 1" in error.message


def test_invalid_ids_do_not_cascade() -> None:
    errors = problems(HEAD + dedent("""\
        [[rules]]
        id = "Refund Everything"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."

        [[rules]]
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."
        """))
    assert [where(e) for e in errors] == [(7, "rules[1].id"), (13, "rules[2].id")]
    assert "got 'Refund Everything'" in errors[0].message
    assert "got None" in errors[1].message


def test_missing_then(source: Source) -> None:
    error = source.problem(HEAD + dedent("""\
        [[rules]]
        id = "annual"
        when.plan_period = "year"
        message.en = "Yes."
        message.fr = "Oui."
        """))
    assert where(error) == (6, "rules[1].then")
    assert "then must be one of refund, deny, review" in error.message
    assert "got None" in error.message


def test_unknown_then() -> None:
    error = problem(HEAD + dedent("""\
        [[rules]]
        id = "annual"
        then = "refunds"
        message.en = "Yes."
        message.fr = "Oui."
        """))
    assert where(error) == (8, "rules[1].then")
    assert "got 'refunds'" in error.message


def test_deny_without_reason(source: Source) -> None:
    error = source.problem(HEAD + dedent("""\
        [[rules]]
        id = "monthly"
        when.plan_period = "month"
        then = "deny"
        message.en = "No."
        message.fr = "Non."
        """))
    assert where(error) == (6, "rules[1].reason")
    assert "a deny rule needs a reason code" in error.message


def test_rule_that_is_not_a_table() -> None:
    error = problem(HEAD + 'rules = ["refund"]\n')
    assert where(error) == (6, "rules[1]")
    assert "a rule must be a table" in error.message


# -- invalid TOML and unreadable files -------------------------------------------------------------

def test_invalid_toml(source: Source) -> None:
    error = source.problem(dedent("""\
        id = "t"
        version = 1
        title.en = "Test"
        title.fr =
        """))
    assert error.line == 4
    assert error.field is None
    assert error.message.startswith("not valid TOML: ")
    assert "line 4" in error.message


def test_invalid_toml_in_a_rule() -> None:
    error = problem(HEAD + dedent("""\
        [[rules]]
        id = "a"
        when = { plan_period = "year"
        then = "deny"
        """))
    assert (error.line, error.field) == (8, None)
    assert "not valid TOML" in error.message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(PolicyErrors) as caught:
        load_policy(path)
    (error,) = caught.value.errors
    assert (error.path, error.line, error.field) == (str(path), None, None)
    assert "cannot read the file" in error.message
    assert "No such file" in error.message


def test_directory_is_not_a_policy(tmp_path: Path) -> None:
    with pytest.raises(PolicyErrors) as caught:
        load_policy(tmp_path)
    (error,) = caught.value.errors
    assert error.path == str(tmp_path)
    assert "cannot read the file" in error.message


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes((HEAD + '# politique générale\n').encode("latin-1"))
    with pytest.raises(PolicyErrors) as caught:
        load_policy(path)
    (error,) = caught.value.errors
    assert error.path == str(path)
    assert "not UTF-8" in error.message


# -- statutory packs -------------------------------------------------------------------------------

STATUTORY_HEAD = """\
id = "statutory-xx"
version = 1
kind = "statutory"
countries = ["FR", "@EU"]
source = "Code de la consommation, art. L221-18"
title.en = "Withdrawal right"
title.fr = "Droit de rétractation"

"""  # lines 1-8


def test_a_statutory_pack() -> None:
    pack = parse_policy(STATUTORY_HEAD + dedent("""\
        [[rules]]
        id = "withdrawal-14-days"
        when.days_since_purchase = { max = 14 }
        then = "refund"
        source = "Code de la consommation, art. L221-18"
        message.en = "Refund of {amount}."
        message.fr = "Remboursement de {amount}."
        """))
    assert pack.kind == "statutory"
    assert pack.source == "Code de la consommation, art. L221-18"
    assert "DE" in pack.countries and "FR" in pack.countries and "US" not in pack.countries
    assert pack.rules[0].source == "Code de la consommation, art. L221-18"


def test_statutory_rule_without_source(source: Source) -> None:
    error = source.problem(STATUTORY_HEAD + dedent("""\
        [[rules]]
        id = "withdrawal-14-days"
        when.days_since_purchase = { max = 14 }
        then = "refund"
        message.en = "Refund of {amount}."
        message.fr = "Remboursement de {amount}."
        """))
    assert where(error) == (9, "rules[1].source")
    assert "every statutory rule must cite its legal source" in error.message


def test_statutory_rule_with_a_blank_source() -> None:
    error = problem(STATUTORY_HEAD + dedent("""\
        [[rules]]
        id = "withdrawal-14-days"
        when.days_since_purchase = { max = 14 }
        then = "refund"
        source = "  "
        message.en = "Refund of {amount}."
        message.fr = "Remboursement de {amount}."
        """))
    assert where(error) == (13, "rules[1].source")
    assert "every statutory rule must cite its legal source" in error.message


def test_statutory_rule_that_does_not_refund(source: Source) -> None:
    error = source.problem(STATUTORY_HEAD + dedent("""\
        [[rules]]
        id = "withdrawal-14-days"
        when.days_since_purchase = { max = 14 }
        then = "deny"
        reason = "withdrawal_period_over"
        source = "Code de la consommation, art. L221-18"
        message.en = "No."
        message.fr = "Non."
        """))
    assert where(error) == (12, "rules[1].then")
    assert "statutory rules set a floor: their outcome is refund" in error.message


def test_statutory_pack_without_source_or_countries() -> None:
    errors = problems(dedent("""\
        id = "statutory-xx"
        version = 1
        kind = "statutory"
        title.en = "Withdrawal right"
        title.fr = "Droit de rétractation"

        [[rules]]
        id = "withdrawal-14-days"
        then = "refund"
        source = "Code de la consommation, art. L221-18"
        message.en = "Refund of {amount}."
        message.fr = "Remboursement de {amount}."
        """))
    assert [e.field for e in errors] == ["countries", "source"]
    assert "a list of country codes" in errors[0].message
    assert "a statutory pack must cite its legal source" in errors[1].message


def test_merchant_rules_need_no_source() -> None:
    policy = parse_policy(HEAD + dedent("""\
        [[rules]]
        id = "monthly"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."
        """))
    assert policy.rules[0].source is None


# -- unreachable rules -----------------------------------------------------------------------------

def two_rules(first: str, second: str) -> str:
    """Rule 1 takes lines 6-12 with its one condition line on line 8; rule 2 starts on line 14."""
    return HEAD + dedent("""\
        [[rules]]
        id = "first"
        {first}
        then = "deny"
        reason = "first_reason"
        message.en = "No."
        message.fr = "Non."

        [[rules]]
        id = "second"
        {second}
        then = "refund"
        message.en = "Refund of {{amount}}."
        message.fr = "Remboursement de {{amount}}."
        """).format(first=first, second=second)


@pytest.mark.parametrize(("first", "second"), [
    ("# no condition: matches everything", 'when.plan_period = "year"'),
    ("# no condition: matches everything", "# no condition either"),
    ('when.plan_period = ["month", "year"]', 'when.plan_period = "year"'),
    ('when.plan_period = ["month", "year"]', 'when.plan_period = ["year", "month"]'),
    ('when.plan_period = { ne = "month" }', 'when.plan_period = "year"'),
    ('when.channel = { not_in = ["apple_app_store", "google_play"] }',
     'when.channel = ["direct", "reseller"]'),
    ("when.is_renewal = false", "when.is_renewal = [false]"),
    ("when.days_since_purchase = { max = 60 }", "when.days_since_purchase = { max = 30 }"),
    ("when.days_since_purchase = { max = 60 }", "when.days_since_purchase = { max = 60 }"),
    ("when.days_since_purchase = { max = 60 }", "when.days_since_purchase = { lt = 60 }"),
    ("when.days_since_purchase = { max = 60 }",
     "when.days_since_purchase = { min = 10, max = 20 }"),
    ("when.days_since_purchase = { max = 60 }", "when.days_since_purchase = 14"),
    ("when.days_since_purchase = { max = 60 }", "when.days_since_purchase = { eq = 14, min = 3 }"),
    ("when.days_since_purchase = { ge = 5, eq = 5 }", "when.days_since_purchase = 5"),
    ("when.hours_since_purchase = { gt = 72 }", "when.hours_since_purchase = { ge = 100 }"),
    ("when.uptime_percent = { lt = 99 }", "when.uptime_percent = { lt = 95 }"),
    ('when.documents = { any_of = ["death_certificate"] }',
     'when.documents = { any_of = ["death_certificate"] }'),
    # an extra condition on the later rule does not save it
    ('when.plan_period = "year"', 'when.plan_period = "year"\n'
                                  "when.days_since_purchase = { max = 30 }"),
    ("when.days_since_purchase = { max = 60 }",
     'when.plan_period = "year"\nwhen.days_since_purchase = { max = 14 }'),
    ('if = "amount > 1000"', 'if = "amount > 1000"'),
    ('if = "amount > 1000"', 'if = "amount>1000"'),
    ('if = "amount > 1000"', 'if = "amount > 1000"\nwhen.plan_period = "year"'),
])
def test_unreachable_rule(first: str, second: str) -> None:
    error = problem(two_rules(first, second))
    assert where(error) == (14, "rules[2]")
    assert "rule 'second' can never match" in error.message
    assert "rule 'first' (rule 1) always matches first" in error.message


@pytest.mark.parametrize(("first", "second"), [
    ("when.days_since_purchase = { max = 60 }", "when.days_since_purchase = { max = 90 }"),
    ("when.days_since_purchase = { lt = 60 }", "when.days_since_purchase = { max = 60 }"),
    ("when.days_since_purchase = { min = 10 }", "when.days_since_purchase = { max = 20 }"),
    ('when.plan_period = "year"', 'when.plan_period = ["month", "year"]'),
    ('when.plan_period = "year"', 'when.channel = "direct"'),
    ('when.plan_period = "year"', "# no condition: the fallback"),
    ("when.is_renewal = false", "when.is_renewal = true"),
    ('when.outage_cause = "vendor"', "when.outage_cause = { null = true }"),
    ('when.plan_period = "year"\n# (and nothing else)', 'when.plan_period = { ne = "year" }'),
    ('if = "amount > 1000"', 'if = "amount > 2000"'),
    ('if = "amount > 1000"', 'when.amount = { gt = 1000 }'),
    ('when.documents = { any_of = ["death_certificate"] }',
     'when.documents = { all_of = ["medical_certificate"] }'),
    # rule 1 can never match (more than 10 and exactly 5), so rule 2 is reachable
    ("when.days_since_purchase = { min = 10, eq = 5 }", "when.days_since_purchase = 5"),
    ("when.days_since_purchase = { gt = 5, eq = 5 }", "when.days_since_purchase = 5"),
    ("when.days_since_purchase = { eq = 5, lt = 5 }", "when.days_since_purchase = 5"),
])
def test_reachable_rule(first: str, second: str) -> None:
    policy = parse_policy(two_rules(first, second), "x.toml")
    assert [r.id for r in policy.rules] == ["first", "second"]


def test_every_unreachable_rule_is_reported() -> None:
    errors = problems(HEAD + dedent("""\
        [[rules]]
        id = "annual-60"
        when.plan_period = "year"
        when.days_since_purchase = { max = 60 }
        then = "refund"
        message.en = "Yes."
        message.fr = "Oui."

        [[rules]]
        id = "annual-30"
        when.plan_period = "year"
        when.days_since_purchase = { max = 30 }
        then = "refund"
        message.en = "Yes."
        message.fr = "Oui."

        [[rules]]
        id = "annual-90"
        when.plan_period = "year"
        when.days_since_purchase = { max = 90 }
        then = "refund"
        message.en = "Yes."
        message.fr = "Oui."

        [[rules]]
        id = "annual-14"
        when.plan_period = "year"
        when.days_since_purchase = { max = 14 }
        then = "refund"
        message.en = "Yes."
        message.fr = "Oui."
        """))
    assert [where(e) for e in errors] == [(14, "rules[2]"), (30, "rules[4]")]
    assert "'annual-30' can never match: rule 'annual-60' (rule 1)" in errors[0].message
    assert "'annual-14' can never match: rule 'annual-60' (rule 1)" in errors[1].message


# -- several problems at once ----------------------------------------------------------------------

def test_every_problem_is_reported(source: Source) -> None:
    text = HEAD + dedent("""\
        [[rules]]
        id = "annual"
        when.plan_period = "fortnight"
        then = "refund"
        message.en = "Refund of {amont}."
        message.fr = "Remboursement de {amount}."

        [[rules]]
        id = "monthly"
        when.is_renewal = "yes"
        when.days_since_purchse = { max = 14 }
        then = "deny"
        message.en = "No."

        [[rules]]
        id = "monthly"
        then = "refund"
        amount = "amount * "
        message.en = "Yes."
        message.fr = "Oui."

        [[rules]]
        id = "everything"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."

        [[rules]]
        id = "unreachable"
        when.plan_period = "year"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."
        """)
    with pytest.raises(PolicyErrors) as caught:
        source.load(text)
    errors = caught.value.errors
    assert [where(e) for e in errors] == [
        (8, "rules[1].when.plan_period"),
        (10, "rules[1].message.en"),
        (15, "rules[2].when.is_renewal"),
        (16, "rules[2].when.days_since_purchse"),
        (13, "rules[2].reason"),
        (18, "rules[2].message.fr"),
        (23, "rules[3].amount"),
        (34, "rules[5]"),
    ]
    assert all(e.path == source.path for e in errors)
    messages = [e.message for e in errors]
    assert "unknown value 'fortnight'" in messages[0]
    assert "unknown placeholder {amont}" in messages[1]
    assert "is_renewal is true or false, got 'yes'" in messages[2]
    assert "unknown fact 'days_since_purchse'" in messages[3]
    assert "a deny rule needs a reason code" in messages[4]
    assert "missing rules[2].message.fr" in messages[5]
    assert "expression ends too early" in messages[6]
    assert "rule 'unreachable' can never match: rule 'everything' (rule 4)" in messages[7]
    # the exception's text lists every error, one a line, each with file:line [field]
    lines = str(caught.value).splitlines()
    assert lines == [str(e) for e in errors]
    assert lines[0] == (f"{source.path}:8 [rules[1].when.plan_period]: " + messages[0])


def test_errors_serialise() -> None:
    error = problem(two_rules("# everything", 'when.plan_period = "year"'))
    assert error.to_dict() == {"path": "x.toml", "line": 14, "field": "rules[2]",
                               "message": error.message}


# -- locating keys ---------------------------------------------------------------------------------

def test_multi_line_strings_are_not_read_as_keys() -> None:
    text = dedent('''\
        id = "t"
        version = 1
        title.en = "Test"
        title.fr = "Essai"
        description = """
        [[rules]]
        id = "inside the description"
        when.plan_period = "year"
        """

        [[rules]]
        id = "a"
        when.plan_period = "fortnight"
        then = "deny"
        reason = "no"
        message.en = "No."
        message.fr = "Non."
        ''')
    error = problem(text)
    assert where(error) == (13, "rules[1].when.plan_period")
    lines = locate_keys(text)
    assert lines["rules[1]"] == 11
    assert "rules[2]" not in lines


def test_locate_keys() -> None:
    lines = locate_keys(dedent("""\
        id = "t"
        # a comment = not a key
        title.en = "Test"

        [groups]
        nordic = ["SE", "NO"]

        [[rules]]
        id = "a"
        when = { plan_period = "year", days_since_purchase = { max = 60 } }

        [[rules]]
        id = "b"

        [rules.when]
        channel = "direct"

        [[rules.choices]]
        kind = "refund"

        [[rules.choices]]
        kind = "extension"
        """))
    assert lines["id"] == 1
    assert lines["title"] == 3
    assert lines["title.en"] == 3
    assert lines["groups.nordic"] == 6
    assert lines["rules[1]"] == 8
    assert lines["rules[1].when"] == 10
    assert lines["rules[1].when.plan_period"] == 10
    assert lines["rules[1].when.days_since_purchase"] == 10
    assert lines["rules[2]"] == 12
    assert lines["rules[2].id"] == 13
    assert lines["rules[2].when"] == 15
    assert lines["rules[2].when.channel"] == 16
    assert lines["rules[2].choices"] == 18
    assert lines["rules[2].choices[1].kind"] == 19
    assert lines["rules[2].choices[2].kind"] == 22
    assert not any("comment" in key for key in lines)

