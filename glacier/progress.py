"""Progress reporting: a rich progress bar on a terminal, a log line per step otherwise."""

import logging
import sys
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

log = logging.getLogger("icebench")


@contextmanager
def progress(description: str, total: float, enabled: bool = True):
    """Yield ``advance(amount, message)``; draws a bar on a TTY, logs ``message`` otherwise."""
    if enabled and sys.stderr.isatty():
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[msg]}"),
                   TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task(description, total=total, msg="")
            yield lambda amount, message="": bar.update(task, advance=amount, msg=message)
    else:
        def advance(amount, message=""):
            if enabled and message:
                log.info("%s: %s", description, message)
        yield advance


def log_to_file(path: str) -> logging.Logger:
    """Send icebench's log lines to ``path`` (a workflow rule's log file); return the logger."""
    logging.basicConfig(filename=path, level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(message)s")
    return log
