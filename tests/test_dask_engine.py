"""`--engine dask` on a local cluster of 2 worker processes: the same findings as `--engine local`, failures survived.

Slow (a cluster starts in 2-3 s; CI runs these once, in its Python 3.11 run, which installs the `dask` extra);
skipped where Dask is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytest.importorskip("fsspec")

import dask
from distributed import LocalCluster

from imsdiag import dask_tasks
from imsdiag.engine import scan
from imsdiag.output import render
from imsdiag.reporters import get_reporter
from imsdiag.result import ScanResult
from imsdiag.settings import ScanSettings
from tests.conftest import LOG_SAMPLES, SAMPLES
from tests.matrix.report import SEED, allpairs_combos
from tests.matrix.world import build_world

pytestmark = pytest.mark.slow

SAMPLE_DIRS = list(LOG_SAMPLES)


def _cluster(**config: object) -> LocalCluster:
    with dask.config.set(config):  # read by the scheduler, which runs in this process
        return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with _cluster() as cluster:
        yield cluster.scheduler_address


def _settings(*paths: str | Path, **kw: object) -> ScanSettings:
    return ScanSettings(paths=tuple(str(p) for p in paths), **kw)  # type: ignore[arg-type]


def _report(result: ScanResult) -> dict[str, object]:
    """The whole JSON report but its timings: findings, evidence, notes, issues, files, servers."""
    doc = json.loads(render(get_reporter("json"), result))

    def strip(x: object) -> object:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k != "seconds"}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return strip(doc)  # type: ignore[return-value]


def _same_as_local(address: str, *paths: str | Path, **kw: object) -> ScanResult:
    local = scan(_settings(*paths, jobs=1, **kw))
    dask_result = scan(_settings(*paths, engine="dask", scheduler=address, **kw))
    assert _report(dask_result) == _report(local)
    return local


def _key(result: ScanResult) -> list[tuple[object, ...]]:
    return [(f.rule_id, f.addresses, f.hosts, f.passes, f.fingerprint) for f in result.findings]


@pytest.mark.parametrize("sample", SAMPLE_DIRS)
def test_every_sample_gives_the_local_report(address: str, sample: str) -> None:
    _same_as_local(address, SAMPLES / sample)


def _worlds() -> list[object]:
    """The first all-pairs world of each topology: Sendmail, Postfix and Exim relays (year-less syslog), IMS-IMS."""
    firsts: dict[str, object] = {}
    for combo in allpairs_combos():
        firsts.setdefault(combo.id.split("-")[0], combo)
    return list(firsts.values())


@pytest.mark.parametrize("combo", _worlds(), ids=lambda c: c.id)  # type: ignore[attr-defined]
def test_variation_matrix_worlds_give_the_local_report(address: str, combo: object, tmp_path: Path) -> None:
    truth = build_world(combo, SEED, tmp_path)  # type: ignore[arg-type]
    local = _same_as_local(address, tmp_path)
    assert bool(local.findings) == bool(truth.loop)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tools.loggen bench`: ~900 files of four formats, planted loops in IMS, Postfix and Exim logs."""
    from tools.loggen import bench

    out = tmp_path_factory.mktemp("loggen")
    bench.run(out, 4 << 20, seed=5)
    return out


def test_generated_multi_file_set_gives_the_local_report(address: str, generated: Path) -> None:
    planted = json.loads((generated / "expected.json").read_text())["loops"]
    local = _same_as_local(address, generated)
    assert len(local.findings) >= len(planted) and local.files_read > 500


def test_a_file_url_reads_like_the_path(address: str) -> None:
    folder = SAMPLES / "q178436-site-connector"
    local = scan(_settings(folder))
    by_url = scan(_settings(folder.resolve().as_uri(), engine="dask", scheduler=address))
    assert _key(by_url) == _key(local) and by_url.files_read == local.files_read
    assert all(s.path.startswith("file://") for s in by_url.files)


def test_a_memory_url_is_read_by_the_client_and_merged_with_the_rest(address: str) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    folder = SAMPLES / "postfix-forwarding-loop"
    for p in folder.rglob("*"):
        if p.is_file():
            fs.pipe(f"/pf/{p.relative_to(folder).as_posix()}", p.read_bytes())
    try:
        local = scan(_settings(folder))
        assert _key(scan(_settings("memory://pf"))) == _key(local)
        assert _key(scan(_settings("memory://pf", engine="dask", scheduler=address))) == _key(local)
    finally:
        fs.rm("/pf", recursive=True)


def test_the_cli_starts_its_own_cluster_of_j_workers(tmp_path: Path) -> None:
    sample = str(SAMPLES / "q178436-site-connector")
    common = ["-m", "imsdiag", "scan", "--no-index", "--isolated", "-f", "json", "-q", sample]
    runs = [
        subprocess.run([sys.executable, *common, *extra], capture_output=True, text=True, timeout=300)
        for extra in ([], ["--engine", "dask", "-j", "2"])
    ]
    assert [r.returncode for r in runs] == [1, 1], runs[1].stderr
    assert runs[1].stderr == ""
    assert _strip_seconds(runs[0].stdout) == _strip_seconds(runs[1].stdout)


def _strip_seconds(text: str) -> object:
    doc = json.loads(text)
    doc["summary"].pop("seconds", None)
    return doc


def _crashing_once(marker: Path) -> object:
    real = dask_tasks.parse_chunk

    def parse_chunk(files: list[object], settings: object) -> object:  # pickled by value: a local function
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return real(files, settings)  # type: ignore[arg-type]
        os.kill(os.getpid(), signal.SIGKILL)  # the first task to run takes its worker down with it
        return None

    return parse_chunk


def test_a_killed_worker_is_survived(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(dask_tasks, "parse_chunk", _crashing_once(tmp_path / "killed"))
    folder = SAMPLES / "q178436-site-connector"
    with _cluster() as cluster:
        result = scan(_settings(folder, engine="dask", scheduler=cluster.scheduler_address))
    assert (tmp_path / "killed").exists()
    monkeypatch.undo()
    assert _report(result) == _report(scan(_settings(folder)))


def _killing(name: str) -> object:
    real = dask_tasks.parse_chunk

    def parse_chunk(files: list[object], settings: object) -> object:
        if any(getattr(f, "display", "").endswith(name) for f in files):
            os.kill(os.getpid(), signal.SIGKILL)  # this file kills every worker that reads it
        return real(files, settings)  # type: ignore[arg-type]

    return parse_chunk


def test_a_file_that_kills_every_worker_is_a_counted_issue(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    shutil.copytree(SAMPLES / "q178436-site-connector", folder)
    (folder / "poison.log").write_text("kills its reader\n")
    monkeypatch.setattr(dask_tasks, "parse_chunk", _killing("poison.log"))
    # Each death also counts against the tasks queued on that worker: as `--engine dask`'s own cluster, none.
    with _cluster(
        **{"distributed.scheduler.allowed-failures": 2, "distributed.scheduler.worker-saturation": 1.0}
    ) as cluster:
        result = scan(_settings(folder, engine="dask", scheduler=cluster.scheduler_address))
    monkeypatch.undo()
    assert dict(result.issue_counts)["worker-lost"] == 1
    (folder / "poison.log").unlink()
    assert _key(result) == _key(scan(_settings(folder)))  # every other file was read, the chunk's too


def test_ctrl_c_cancels_the_work_and_exits_130(generated: Path) -> None:
    psutil = pytest.importorskip("psutil")  # a dependency of distributed
    proc = subprocess.Popen(
        [sys.executable, "-m", "imsdiag", "scan", "--no-index", "--engine", "dask", "-j", "2", str(generated)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(psutil.Process(proc.pid).children(recursive=True)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().endswith("imsdiag: interrupted") and "Traceback" not in err
    _, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive


def test_an_unreachable_scheduler_exits_3(monkeypatch: pytest.MonkeyPatch) -> None:
    from imsdiag import dask_engine
    from imsdiag.cli import cli
    from tests.clirunner import cli_runner

    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", "1s")
    result = cli_runner().invoke(cli, ["scan", "--no-index", "--scheduler", "tcp://127.0.0.1:9", str(SAMPLES)])
    assert result.exit_code == 3 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output


def test_year_given_or_not_the_cluster_dates_like_the_local_engine(address: str) -> None:
    folder = SAMPLES / "q178436-relay-only"
    for year in (None, 2001):
        _same_as_local(address, folder, year_hint=year)


class _Recorder:
    def __init__(self) -> None:
        self.files: list[str] = []
        self.bytes = 0
        self.total = (0, 0)
        self.done = 0

    def start(self, total_files: int, total_bytes: int) -> None:
        self.total = (total_files, total_bytes)

    def file_started(self, display: str) -> None:
        self.files.append(display)

    def advance(self, nbytes: int) -> None:
        self.bytes += nbytes

    def file_done(self) -> None:
        self.done += 1

    def stop(self) -> None:
        pass


def test_the_cluster_feeds_the_progress_bar(address: str, generated: Path, tmp_path: Path) -> None:
    progress = _Recorder()
    result = scan(
        _settings(generated, engine="dask", scheduler=address, use_index=True, index_path=str(tmp_path / "ix")),
        progress,
    )
    assert progress.total == (len(result.files), progress.bytes) and progress.done == len(result.files)
    assert sorted(progress.files) == sorted(s.path for s in result.files)
    assert not (tmp_path / "ix").exists()  # workers elsewhere could not write this machine's index


def test_audit_learns_from_the_logs_on_the_cluster_as_locally(address: str) -> None:
    """`audit --logs` reads the logs with the scan's engine: on the cluster it learns the same builds and loops."""
    from imsdiag.cli import cli
    from tests.clirunner import cli_runner

    directory = SAMPLES / "directory"
    args = [
        "audit",
        str(directory / "company-dsexport.csv"),
        "--zone",
        str(directory / "company.com.zone"),
        "--logs",
        str(SAMPLES / "q178436-site-connector"),
        "--isolated",
        "-f",
        "json",
    ]
    local = cli_runner().invoke(cli, args)
    remote = cli_runner().invoke(cli, [*args, "--engine", "dask", "--scheduler", address])
    assert (local.exit_code, remote.exit_code) == (1, 1), remote.output
    local_doc, remote_doc = json.loads(local.stdout), json.loads(remote.stdout)
    assert remote_doc == local_doc
    user2 = next(u for u in remote_doc["users"] if u["mailbox"].startswith("user2"))
    assert user2["verdict"] == "at-risk" and user2["looping_passes"] == 42
    bad = cli_runner().invoke(cli, [*args, "--scheduler", address, "--engine", "local"])
    assert bad.exit_code == 2 and "a scheduler is for --engine dask" in bad.output
