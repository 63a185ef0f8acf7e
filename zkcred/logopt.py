"""``--log-level`` for every ``zkcred … serve`` (one definition; ``servicekit.logs`` does the work).

The level reaches uvicorn's worker processes through ``$ZKCRED_LOG_LEVEL`` (each worker's
app factory calls ``servicekit.logs.configure_logging()``, which reads it).
"""

from __future__ import annotations

import os
from typing import Annotated, TypedDict

import typer

from servicekit.logs import DEFAULT_LEVEL, LEVELS, LOG_LEVEL_ENV, configure_logging, parse_level


def _validate(value: str) -> str:
    try:
        parse_level(value)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    return value.strip().lower()


LogLevelOption = Annotated[
    str,
    typer.Option(
        "--log-level",
        envvar=LOG_LEVEL_ENV,
        callback=_validate,
        help=f"Log level: {', '.join(LEVELS)} (JSON lines on stderr, one per record).",
    ),
]


class UvicornLogOptions(TypedDict):
    """The keyword arguments of ``uvicorn.run`` that :func:`apply_log_level` decides."""

    log_level: str
    log_config: None
    access_log: bool


def apply_log_level(level: str = DEFAULT_LEVEL) -> UvicornLogOptions:
    """Configure this process's logs at ``level``, export it to worker processes; uvicorn's run() options."""
    os.environ[LOG_LEVEL_ENV] = level
    configure_logging(level)
    # uvicorn must not install its own (text) logging config; servicekit writes the access lines
    return {"log_level": level, "log_config": None, "access_log": False}
