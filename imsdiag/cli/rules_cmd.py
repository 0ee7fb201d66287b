"""`imsdiag rules`: the rule catalogue, or one rule's documentation."""

from __future__ import annotations

from collections.abc import Sequence

import click

from ..errors import InputError
from ..params import RULES


@click.command(name="rules")
@click.argument("rule", required=False, shell_complete=RULES.shell_complete)
def rules_cmd(rule: str | None) -> None:
    """List the rules, or print one rule's documentation.

    \b
    Examples:
      imsdiag rules
      imsdiag rules Q178436
    """
    from ..rules import all_rules, get_rule

    if rule:
        try:
            r = get_rule(rule)
        except KeyError as exc:
            raise InputError(str(exc.args[0])) from None
        _print_rule_doc(r.id, r.slug, r.default_severity.value, r.title, r.doc(), r.references)
        return
    rows = [(r.id, r.slug, r.default_severity.value, r.title) for r in all_rules()]
    w = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo(f"{row[0]:<{w[0]}}  {row[1]:<{w[1]}}  {row[2]:<{w[2]}}  {row[3]}")


def _print_rule_doc(rule_id: str, slug: str, severity: str, title: str, doc: str, references: Sequence[str]) -> None:
    """One rule's documentation: rendered Markdown in a terminal, the Markdown itself in a pipe (for docs)."""
    from rich.markdown import Markdown

    from ..console import make_console

    out = make_console()
    head = f"{rule_id}  {slug}  (default severity: {severity})"
    # A rule's doc names its references with what each is for; the bare list is shown only when it does not.
    refs = "References: " + ", ".join(references) if references and "**References.**" not in doc else ""
    if not out.is_terminal:
        click.echo("\n\n".join(p for p in (f"{head}\n{title}", doc, refs) if p))
        return
    out.print(f"[rule]{head}[/]", highlight=False)
    out.print(Markdown(f"# {title}\n\n{doc}" + (f"\n\n{refs}" if refs else "")))
