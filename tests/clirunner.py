"""click's CliRunner with stdout and stderr apart on every click the project supports (8.1 and later).

click 8.2 and later keep them apart: `stdout`, `stderr`, and `output` for both. click 8.1 mixes stderr
into stdout unless the runner is made with `mix_stderr=False`, and then its `output` is stdout alone;
there `output` here is stdout followed by stderr (not interleaved: tests only look for text in it).
"""

from __future__ import annotations

import inspect

from click.testing import CliRunner, Result

MIXES_STDERR = "mix_stderr" in inspect.signature(CliRunner.__init__).parameters
"""True on click 8.1 (the declared minimum), whose CliRunner mixes stderr into stdout by default."""


class _BothResult(Result):
    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class _Runner(CliRunner):
    def invoke(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = super().invoke(*args, **kwargs)
        result.__class__ = _BothResult
        return result


def cli_runner() -> CliRunner:
    """A CliRunner whose results have `stdout`, `stderr` and `output` (both) as on click 8.2."""
    if MIXES_STDERR:
        return _Runner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()
