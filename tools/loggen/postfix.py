"""Writer for Postfix syslog lines (smtpd, cleanup, qmgr, smtp, local, bounce)."""

from __future__ import annotations

from datetime import datetime

from .common import fmt_syslog


class PostfixHost:
    """Line templates of one Postfix host; `pid` numbers are fixed per daemon like long-lived processes."""

    def __init__(self, host: str, pids: dict[str, int]) -> None:
        self.host = host
        self.pids = pids

    def _p(self, t: datetime, daemon: str, text: str) -> str:
        return f"{fmt_syslog(t)} {self.host} postfix/{daemon}[{self.pids[daemon]}]: {text}"

    def connect(self, t: datetime, client: str) -> str:
        return self._p(t, "smtpd", f"connect from {client}")

    def client(self, t: datetime, qid: str, client: str) -> str:
        return self._p(t, "smtpd", f"{qid}: client={client}")

    def disconnect(self, t: datetime, client: str) -> str:
        return self._p(t, "smtpd", f"disconnect from {client}")

    def pickup(self, t: datetime, qid: str, uid: int, sender: str) -> str:
        return self._p(t, "pickup", f"{qid}: uid={uid} from=<{sender}>")

    def cleanup(self, t: datetime, qid: str, msgid: str) -> str:
        return self._p(t, "cleanup", f"{qid}: message-id={msgid}")

    def qmgr_from(self, t: datetime, qid: str, sender: str, size: int, nrcpt: int = 1) -> str:
        return self._p(t, "qmgr", f"{qid}: from=<{sender}>, size={size}, nrcpt={nrcpt} (queue active)")

    def removed(self, t: datetime, qid: str) -> str:
        return self._p(t, "qmgr", f"{qid}: removed")

    def delivery(
        self,
        t: datetime,
        daemon: str,
        qid: str,
        rcpt: str,
        relay: str,
        delay: float,
        dsn: str,
        status: str,
        orig_to: str | None = None,
    ) -> str:
        """A `to=` line from smtp, local or virtual; delays split as before-queue/queue/connect/xfer."""
        a, b, c = round(delay * 0.1, 2), round(delay * 0.05, 2), round(delay * 0.3, 2)
        d = round(max(delay - a - b - c, 0.0), 2)
        orig = f", orig_to=<{orig_to}>" if orig_to else ""
        return self._p(
            t,
            daemon,
            f"{qid}: to=<{rcpt}>{orig}, relay={relay}, delay={delay:g}, delays={a:g}/{b:g}/{c:g}/{d:g}, "
            f"dsn={dsn}, status={status}",
        )

    def bounce_notice(self, t: datetime, qid: str, new_qid: str) -> str:
        return self._p(t, "bounce", f"{qid}: sender non-delivery notification: {new_qid}")
