"""The reconciliation report, pure: results in, bytes out. The job runner writes them to a folder.

* ``reconciliation-<time>.csv``: every discrepancy, one row each (for a spreadsheet or a ticket);
* ``reconciliation-<time>.html``: one self-contained page for a person (inline CSS, an inline SVG
  chart of the discrepancies per job and partner, no script, no external asset; every value
  HTML-escaped). It lists the first :data:`HTML_ROWS` discrepancies of each job; the CSV has them all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Final

from ..ledger import Discrepancy
from .result import JobResult

#: How many discrepancies of one job the HTML page lists (the CSV holds every one).
HTML_ROWS: Final = 2000

CSV_COLUMNS: Final = (
    "job",
    "partner",
    "subject",
    "check",
    "owner",
    "sides",
    "delta",
    "action",
    "remedy",
    "document_id",
)

_OWNER_COLOURS: Final = {"wms": "#7b61ff", "erp": "#d9822b", "partner": "#2b8ad9", "erpbridge": "#c23b3b"}


def sides_text(d: Discrepancy) -> str:
    """``wms: 120 | s4: 110``: what each side says, on one line."""
    return " | ".join(f"{k}: {v}" for k, v in d.sides.items())


def _delta(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


#: What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list).
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """A text cell a spreadsheet shows as text: one that would start a formula (a SKU or PO number
    from a partner's or the WMS's data can open the subject or the action) gets a leading ``'``."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def report_csv(results: Sequence[JobResult]) -> bytes:
    """Every discrepancy of ``results`` as CSV (UTF-8, a header row, ``\\r\\n`` line ends); a
    text cell that a spreadsheet would take for a formula starts with ``'``."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for r in results:
        for d in r.discrepancies:
            text = (d.job, d.partner, d.subject, d.check, d.owner.value, sides_text(d))
            rest = (d.action, d.remedy, d.document_id or "")
            writer.writerow((*map(_text, text), _delta(d.delta), *map(_text, rest)))
    return buffer.getvalue().encode("utf-8")


_CSS: Final = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#1d1d1f}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .4em}
.meta{color:#555;margin:0 0 1em}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f4f4f6;padding:1px 3px;word-break:break-all}
.clean{color:#1a7f37}.over,.error{color:#c23b3b;font-weight:600}.within{color:#9a6700}
.owner{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:12px}
.note{color:#555;font-style:italic}
"""


def _chart(results: Sequence[JobResult]) -> str:
    """A horizontal bar per job and partner: discrepancies, coloured by owner; the threshold marked."""
    bars: list[tuple[str, dict[str, int], int]] = []
    for r in results:
        partners = sorted(r.by_partner) or ["-"]
        for p in partners:
            owners: dict[str, int] = {}
            for d in r.discrepancies:
                if d.partner == p:
                    owners[d.owner.value] = owners.get(d.owner.value, 0) + 1
            bars.append((f"{r.job} · {p}", owners, r.threshold))
    if not bars:
        return ""
    top = max([sum(o.values()) for _, o, _ in bars] + [t for *_, t in bars] + [1])
    label_w, bar_w, row_h = 230, 520, 24
    height = row_h * len(bars) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 80}" height="{height}" '
        'role="img" aria-label="discrepancies per job and partner">'
    ]
    for i, (label, owners, threshold) in enumerate(bars):
        y = 10 + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="12">{escape(label)}</text>'
        )
        x = float(label_w)
        for owner in _OWNER_COLOURS:
            n = owners.get(owner, 0)
            if not n:
                continue
            w = bar_w * n / top
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 8}" '
                f'fill="{_OWNER_COLOURS[owner]}"><title>{escape(owner)}: {n}</title></rect>'
            )
            x += w
        total = sum(owners.values())
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}" font-size="12">{total}</text>')
        if threshold:
            tx = label_w + bar_w * threshold / top
            parts.append(
                f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y + 1}" y2="{y + row_h - 3}" stroke="#000" '
                'stroke-dasharray="3,2"><title>threshold</title></line>'
            )
    legend_y = height - 12
    x = label_w
    for owner, colour in _OWNER_COLOURS.items():
        parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{legend_y}" font-size="12">{escape(owner)}</text>')
        x += 100
    parts.append("</svg>")
    return "".join(parts)


def report_html(results: Sequence[JobResult], *, generated_at: datetime, source: str) -> str:
    """The report as one self-contained HTML page (see the module)."""
    total = sum(len(r.discrepancies) for r in results)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>erpbridge reconciliation {escape(generated_at.strftime('%Y-%m-%d %H:%M'))} UTC</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>erpbridge reconciliation</h1>",
        f'<p class="meta">{escape(generated_at.strftime("%Y-%m-%d %H:%M:%S"))} UTC · configuration '
        f"{escape(source)} · {total} discrepanc{'y' if total == 1 else 'ies'}</p>",
        "<table><tr><th>job</th><th>result</th><th>discrepancies</th><th>threshold per partner</th>"
        "<th>checked</th><th>over threshold</th></tr>",
    ]
    for r in results:
        css = {"clean": "clean", "over threshold": "over", "error": "error"}.get(r.verdict, "within")
        over = ", ".join(f"{p} ({n})" for p, n in r.over_threshold.items()) or "-"
        checked = sum(r.checked.values())
        out.append(
            f'<tr><td><a href="#job-{escape(r.job)}">{escape(r.job)}</a></td>'
            f'<td class="{css}">{escape(r.verdict)}</td><td class="n">{len(r.discrepancies)}</td>'
            f'<td class="n">{r.threshold}</td><td class="n">{checked}</td><td>{escape(over)}</td></tr>'
        )
    out.append("</table>")
    out.append(_chart(results))
    for r in results:
        out.append(f'<h2 id="job-{escape(r.job)}">{escape(r.job)}: {escape(r.verdict)}</h2>')
        if r.error:
            out.append(f'<p class="error">{escape(r.error)}</p>')
        out += [f'<p class="note">{escape(n)}</p>' for n in r.notes]
        out += [f'<p class="note">fixed: {escape(f)}</p>' for f in r.fixed]
        if not r.discrepancies:
            if not r.error:
                out.append("<p>No discrepancies.</p>")
            continue
        out.append(
            "<table><tr><th>partner</th><th>subject</th><th>check</th><th>what each side says</th>"
            "<th>owner</th><th>what to do</th><th>remedy</th></tr>"
        )
        for d in r.discrepancies[:HTML_ROWS]:
            colour = _OWNER_COLOURS.get(d.owner.value, "#555")
            out.append(
                f"<tr><td>{escape(d.partner)}</td><td>{escape(d.subject)}</td><td>{escape(d.check)}</td>"
                f"<td>{escape(sides_text(d))}</td>"
                f'<td><span class="owner" style="background:{colour}">{escape(d.owner.value)}</span></td>'
                f"<td>{escape(d.action)}</td><td><code>{escape(d.remedy)}</code></td></tr>"
            )
        out.append("</table>")
        if len(r.discrepancies) > HTML_ROWS:
            out.append(
                f'<p class="note">The first {HTML_ROWS} of {len(r.discrepancies)}: the CSV report lists '
                "every one.</p>"
            )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


__all__ = ["CSV_COLUMNS", "HTML_ROWS", "report_csv", "report_html", "sides_text"]
