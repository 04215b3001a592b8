"""``erpbridge job list`` and ``erpbridge job run NAME``: the jobs of ``[jobs.<name>]`` (the item
master file for the WMS, catalog drift; erpbridge/catalog/jobs.py, docs/netsuite.md), by hand.

A run by hand is recorded in the ledger like the daemon's (``job:<name>``, ``erpbridge status``).
Exit codes: 0 done (for catalog_drift: no drift); 1 the run failed, or drift was found; 2 a usage
or configuration error.
"""

from __future__ import annotations

import getpass
import json
import socket
import sys
from pathlib import Path

import click

from .ops import _config_option, _guarded, _json_option, _load, _open, _table, _when


@click.group("job")
def job_group() -> None:
    """The scheduled jobs of [jobs.<name>]: the item master file, catalog drift (docs/netsuite.md)."""


@job_group.command("list")
@_config_option
@_guarded
def job_list_cmd(config_file: Path | None) -> None:
    """The configured jobs, their schedule and last run."""
    from ..catalog.jobs import job_name

    config = _load(config_file)
    with _open(config) as ledger:
        last = ledger.last_job_runs()
    rows = []
    for job in config.jobs.values():
        run = last.get(job_name(job.name))
        rows.append(
            (
                job.name,
                job.type,
                job.cron.expression,
                "yes" if job.enabled else "no",
                _when(run.started_at) if run else "-",
                run.outcome if run else "-",
            )
        )
    for line in _table(("job", "type", "cron", "enabled", "last run (UTC)", "outcome"), rows):
        click.echo(line)


@job_group.command("run")
@click.argument("name")
@_config_option
@_json_option
@_guarded
def job_run_cmd(name: str, config_file: Path | None, as_json: bool) -> None:
    """Run the job NAME now (whether or not it is enabled), recorded in the ledger."""
    from ..catalog.jobs import run_job

    config = _load(config_file)
    with _open(config) as ledger:
        result = run_job(config, ledger, name, worker=f"{getpass.getuser()}@{socket.gethostname()}/cli")
    if as_json:
        click.echo(
            json.dumps({"job": name, "outcome": result.outcome, **result.detail}, indent=2, default=str)
        )
    else:
        d = result.detail
        if result.error:
            click.secho(f"job {name} failed: {result.error}", fg="red", err=True)
        elif result.type == "item_master":
            state = "written" if d.get("written") else "unchanged (nothing written)"
            click.echo(f"job {name}: {d.get('items')} items, {d.get('file')} {state}")
        else:
            click.echo(
                f"job {name}: {d.get('drifted_skus')} SKUs drifted ({d.get('erp_items')} in the ERP, "
                f"{d.get('wms_items')} in the WMS's {d.get('wms_file')})"
            )
            for drift in result.drift[:200]:
                click.echo(f"  {drift}")
            if len(result.drift) > 200:
                click.echo(f"  ... and {len(result.drift) - 200} more (erpbridge job run {name} --json)")
        for problem in result.problems[:50]:
            click.secho(f"  problem: {problem}", fg="yellow")
        if len(result.problems) > 50:
            click.secho(f"  ... and {len(result.problems) - 50} more problems", fg="yellow")
    sys.exit(1 if result.outcome == "failed" or result.drift else 0)


__all__ = ["job_group"]
