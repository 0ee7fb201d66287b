"""The rule contract: metadata beside the code, the class docstring as the user documentation."""

from __future__ import annotations

import abc
import inspect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from ..evidence import Evidence
from ..hostmap import HostMap
from ..models import Finding, Loop, Severity
from ..ruleinfo import RuleInfo

if TYPE_CHECKING:  # the audit package is only loaded when `scan --directory` gives an export
    from ..audit.directory import Directory


@dataclass(frozen=True)
class RuleContext:
    """Facts about the whole scan that a rule may weigh: builds per server, which servers are IMS."""

    builds: tuple[tuple[str, str], ...] = ()
    """(server, build) pairs seen anywhere in the input."""
    ims_servers: frozenset[str] = frozenset()
    """Servers known to run an Exchange IMS/IMC (from banners, Received lines, IMS log formats)."""
    hosts: HostMap = field(default_factory=HostMap)
    """The scan's host map: every name of a machine -> its canonical name."""
    addresses: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Local part -> every address seen with it."""
    directory: Directory | None = None
    """The directory export of `scan --directory`: a user's real proxies instead of the ones the logs suggest."""

    @classmethod
    def from_evidence(cls, ev: Evidence, directory: Directory | None = None) -> RuleContext:
        return cls(
            builds=tuple(sorted((s, b) for s, bs in ev.builds.items() for b in bs)),
            ims_servers=ev.ims_servers,
            hosts=ev.hosts,
            addresses=ev.addresses,
            directory=directory,
        )

    def proxies_of(self, address: str) -> list[str]:
        """Other addresses of the same user in the same organisation (`user2@imc2.company.com` for
        `user2@company.com`): same local part, one domain a subdomain of the other."""
        if "@" not in address:
            return []
        local, domain = address.rsplit("@", 1)
        out = []
        for other in self.addresses.get(local, frozenset()):
            od = other.rsplit("@", 1)[-1]
            if other != address and (od.endswith("." + domain) or domain.endswith("." + od)):
                out.append(other)
        return sorted(out)


class Rule(abc.ABC):
    """A known cause: matches detector loops and yields Findings with evidence, cause and fix."""

    id: ClassVar[str]
    """Stable id, never reused (`Q178436`, `LOOP001`)."""
    slug: ClassVar[str]
    title: ClassVar[str]
    default_severity: ClassVar[Severity]
    """Severity when the loop is proven in the logs of a server you scanned (its MTA wrote the loop or its
    hop limit, or its own sessions show the ring): mail is being lost there, so most rules say `error`."""
    bounce_severity: ClassVar[Severity] = Severity.WARNING
    """Severity when the only evidence is a bounce received from another network (a message file, mbox)."""
    references: ClassVar[tuple[str, ...]] = ()

    @abc.abstractmethod
    def check(self, loops: list[Loop], ctx: RuleContext) -> Iterator[tuple[Finding, set[int]]]:
        """Yield findings for the loops this rule explains, each with the indexes of the loops it used.

        Loops claimed by a rule are not offered to the rules after it (the registry order runs
        the specific causes before the generic ones).
        """

    @classmethod
    def doc(cls) -> str:
        """The rule's documentation: its class docstring, dedented."""
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """First paragraph of the documentation, on one line."""
        first = cls.doc().split("\n\n", 1)[0]
        return " ".join(first.split())

    @classmethod
    def info(cls) -> RuleInfo:
        """The rule's metadata as plain data, for the scan result and the policy."""
        return RuleInfo(
            id=cls.id,
            slug=cls.slug,
            title=cls.title,
            summary=cls.summary(),
            doc=cls.doc(),
            default_severity=cls.default_severity,
            references=tuple(cls.references),
        )
