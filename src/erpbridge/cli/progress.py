"""Progress of ``erpbridge run`` on standard error: a bar for long batches on a terminal, lines otherwise.

The runner reports each file of a batch as a :class:`~erpbridge.pipeline.runner.Progress` (flow,
n of total, file name) and other steps as plain strings. :class:`ProgressPrinter` is the callback:

* a batch of more than ``threshold`` files (20), when standard error is a terminal: one
  ``click.progressbar`` per flow, showing the file in hand, finished when the last file comes (or
  when anything else is reported, e.g. the next flow);
* otherwise one line per file, as the runner words it;
* with ``quiet``, nothing.
"""

from __future__ import annotations

import atexit
import sys
from typing import Any, TextIO

import click

#: Batches longer than this get a bar (on a terminal); shorter ones are listed file by file.
BAR_THRESHOLD = 20


class ProgressPrinter:
    """The ``progress`` callback of :class:`~erpbridge.pipeline.Runner` for the command line."""

    def __init__(self, quiet: bool = False, *, file: TextIO | None = None, threshold: int = BAR_THRESHOLD):
        self.quiet = quiet
        self.file = file
        self.threshold = threshold
        self._bar: Any = None  # click's ProgressBar of the batch in hand
        self._flow: str | None = None

    @property
    def _out(self) -> TextIO:
        return self.file or sys.stderr  # looked up when used: click's test runner swaps sys.stderr

    def __call__(self, line: str) -> None:
        from ..pipeline.runner import Progress

        if self.quiet:
            return
        if isinstance(line, Progress) and self._wants_bar(line):
            self._step(line)
            return
        self.close()
        click.echo(line, file=self._out)

    def _wants_bar(self, p: Any) -> bool:
        if self._bar is not None and self._flow == p.flow:
            return True
        return bool(p.total > self.threshold and self._out.isatty())

    def _step(self, p: Any) -> None:
        if self._bar is None or self._flow != p.flow:
            self.close()
            self._bar = click.progressbar(
                length=p.total,
                label=p.flow,
                file=self._out,
                show_pos=True,
                show_eta=True,
                item_show_func=lambda name: str(name) if name else None,
            )
            self._bar.__enter__()
            self._flow = p.flow
            atexit.register(self.close)  # a flow that stopped half-way leaves no half-drawn line
        self._bar.update(max(p.n - self._bar.pos, 0), p.file)
        if p.n >= p.total:
            self.close()

    def close(self) -> None:
        """Finish the bar in hand, if any (idempotent)."""
        if self._bar is not None:
            bar, self._bar, self._flow = self._bar, None, None
            atexit.unregister(self.close)
            bar.__exit__(None, None, None)


__all__ = ["BAR_THRESHOLD", "ProgressPrinter"]
