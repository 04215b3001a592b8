"""``erpbridge reconcile [JOB]``: run the reconciliation now (docs/reconciliation.md).

Exit status: 0 every job clean or within its threshold; 1 a job found more discrepancies for a
partner than its threshold; 2 a job could not run (an ERP that did not answer, a ledger error) or a
usage or configuration error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import RECONCILE_JOBS
from . import ops

_VERDICT_COLOURS = {"clean": "green", "within threshold": "yellow", "over threshold": "red", "error": "red"}


@click.command("reconcile")
@click.argument("job", required=False, type=click.Choice(RECONCILE_JOBS))
@ops._config_option
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder for the CSV and HTML report (default: [reconcile] report, else reports/ beside var/archive).",
)
@click.option(
    "--fix",
    is_flag=True,
    help="Apply the remedies erpbridge can apply itself (replays, inventory adjustments, 846s), then check again.",
)
@click.option("--quiet", is_flag=True, help="No progress lines.")
@ops._guarded
def reconcile_cmd(
    job: str | None, config_file: Path | None, report_dir: Path | None, fix: bool, quiet: bool
) -> None:
    """Check that nothing was lost: every job, or JOB alone.

    \b
    orders     every inbound PO acknowledged (997/999, and 855 where the partner gets them) and in the ERP
    acks       every document we sent acknowledged by a 997 within the partner's ack_window
    shipments  every shipment the WMS confirmed has an 856 out and, where the flow delivers it, an ERP fulfillment
    inventory  the WMS's stock against the ERP's on-hand and against the last 846 each partner got
    catalog    the ERP's item master against the WMS's (the [jobs] catalog_drift jobs): weights, dimensions, HS codes

    Each run and its discrepancies are recorded in the ledger (erpbridge status shows the last ones); the
    report (CSV and HTML) is written to a folder and its path printed last. Exit 0 clean or within the
    thresholds, 1 over a threshold, 2 a job could not run.
    """
    from ..config import check_environment
    from ..pipeline import Runner
    from ..reconcile import exit_status
    from ..reconcile.jobs import Reconciler
    from .progress import ProgressPrinter

    config = ops._load(config_file)
    check_environment(config)
    progress = ProgressPrinter(quiet=quiet)
    with ops._open(config) as ledger:
        runner = Runner(config, ledger, mappings_root=ops._mappings_root(config), progress=progress)
        reconciler = Reconciler(config, ledger, runner, progress=progress)
        done = reconciler.run([job] if job else None, fix=fix, report=report_dir)
    progress.close()
    from ..observability import signals

    for result in done.results:
        for partner, n in result.by_partner.items():
            signals.set_reconciler_delta(result.job, partner, n)
        colour = _VERDICT_COLOURS.get(result.verdict)
        click.secho(
            f"{result.job}: {result.verdict}, {len(result.discrepancies)} discrepanc"
            f"{'y' if len(result.discrepancies) == 1 else 'ies'} (threshold {result.threshold} per partner)",
            fg=colour,
            bold=True,
        )
        if result.error:
            click.secho(f"  could not run: {result.error}", fg="red")
        for note in result.notes:
            click.echo(f"  note: {note}")
        for line in result.fixed:
            click.echo(f"  fixed: {line}")
        for d in result.discrepancies[:20]:
            sides = ", ".join(f"{k} {v}" for k, v in d.sides.items())
            click.echo(f"  {d.partner}  {d.subject}  [{d.check}, {d.owner.value}]  {sides}")
            click.echo(f"    {d.remedy}")
        if len(result.discrepancies) > 20:
            click.echo(f"  ... and {len(result.discrepancies) - 20} more: see the report")
    if done.report is not None:
        csv_path, html_path = done.report
        click.echo(f"report: {html_path}")
        click.echo(f"        {csv_path}")
    sys.exit(exit_status(done.results))


__all__ = ["reconcile_cmd"]
