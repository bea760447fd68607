"""The exit codes every tenantprobe command shares, so that CI can gate on any of them the same way.

====  ==============  ==========================  =============================  ==============================
code  name            tenantprobe report / audit  suites (pytest)                load scenarios, bench (locust)
====  ==============  ==========================  =============================  ==============================
0     PASS            verdict PASS                every check passed             every SLO held
1     FAIL            verdict FAIL                a check found a problem        an SLO was violated
2     CRASHED         internal error              interrupted (Ctrl-C)           locust or a user class crashed
3     INCOMPLETE      verdict INCOMPLETE          a cross-tenant control was     (a load run leaves gaps to the
                                                  not assessed                   report)
4     COULD_NOT_RUN   no report written           bad option or profile          bad option, target not reached,
                                                                                 provisioning or seeding failed
5     NOTHING_RAN     (not used)                  no test collected              (not used)
====  ==============  ==========================  =============================  ==============================

The suites' codes are pytest's own (``pytest.ExitCode``), so the table follows them; pytest's
internal error is also 3 and prints ``INTERNALERROR`` with a traceback. When a run both found a
problem and missed evidence, FAIL (1) wins, as in the report's verdict. ``tenantprobe demo`` exits with
the code of the isolation suite it runs.
"""

from __future__ import annotations

import enum
from typing import Any, NoReturn


class ExitCode(enum.IntEnum):
    PASS = 0
    FAIL = 1
    CRASHED = 2
    INCOMPLETE = 3
    COULD_NOT_RUN = 4
    NOTHING_RAN = 5


def run_command(command: Any, args: list[str] | None = None, prog_name: str | None = None) -> NoReturn:
    """Run a typer command and exit with the table's codes (click alone exits 2 on a usage error)."""
    import typer

    from tenantprobe.errors import TenantProbeError

    try:
        code = command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except typer.TyperException as exc:  # typer's (vendored) click errors: a bad option or value
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            typer.echo(f"Error: {exc.format_message()}", err=True)
        raise SystemExit(ExitCode.COULD_NOT_RUN) from None
    except TenantProbeError as exc:
        typer.echo(f"{prog_name or 'tenantprobe'}: {exc}", err=True)
        raise SystemExit(ExitCode.COULD_NOT_RUN) from None
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        raise SystemExit(ExitCode.CRASHED) from None
    raise SystemExit(code if isinstance(code, int) else ExitCode.PASS)
