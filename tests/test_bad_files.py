"""Bad files (issue 11): config files and stores that cannot be used give one clear line naming the file.

Real files on disk and real DuckDB; the read-only cases use the immutable flag (root ignores permission bits).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from cascade_core.cascade.config import ConfigError, load_config
from cascade_core.store import (
    Store,
    StoreCorruptError,
    StoreLockedError,
    StoreMissingError,
    StoreReadOnlyError,
)

ROOT = Path(__file__).resolve().parents[1]
TWO_TIERS = """
[[tiers]]
name = "small"
model = "sim-llama-3.1-8b"
input_price = 0.20
output_price = 0.20
max_tokens = 256

[[tiers]]
name = "large"
model = "sim-llama-3.1-405b"
input_price = {price}
output_price = 3.00
"""


def cli(*args: str, cwd: Path, limit_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CASCADE_CONFIG", None)
    env.pop("CASCADE_STORE", None)

    def cap_file_size() -> None:  # a full disk, as a process sees it: writes past the limit fail (EFBIG)
        if limit_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "cascade_core", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, preexec_fn=cap_file_size)


@pytest.mark.parametrize(("content", "words"), [
    (b"\x00\x01\x02binary\x00" * 50, "binary file"),
    (TWO_TIERS.format(price="3.00").replace('"large"', '"gr\u00f6\u00dfer"').encode("latin-1"), "not UTF-8"),
    (TWO_TIERS.format(price="3.00").encode("utf-16"), "UTF-16"),
])
def test_unreadable_config_files_give_one_line_naming_the_file(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "cascade.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and words in str(caught.value)
    assert "\n" not in str(caught.value)
    done = cli("query", "What is 2 + 2?", "--config", str(path), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr and words in done.stderr


def test_a_directory_as_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_inf_and_nan_prices_timeouts_and_backoffs_are_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "cascade.toml"
    path.write_text(TWO_TIERS.format(price=value), encoding="utf-8")
    with pytest.raises(ConfigError, match="input_price"):
        load_config(path)
    path.write_text(f"[retry]\nbackoff_max = {value}\n" + TWO_TIERS.format(price="3.0"), encoding="utf-8")
    with pytest.raises(ConfigError, match="backoff_max"):
        load_config(path)
    path.write_text(TWO_TIERS.format(price="3.0") + f"timeout = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="timeout"):
        load_config(path)


# -- the store ---------------------------------------------------------------------------------------------------

def _make_store(path: Path) -> None:
    with Store(path) as store:
        store.execute("SELECT 1")


def test_a_corrupt_store_is_reported_as_corrupt_at_once(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS x FROM range(100000)")
    con.close()
    data = path.read_bytes()
    path.write_bytes(data[:8192] + b"\0" * (len(data) - 8192))  # DuckDB: "... checksum ... in block ..."
    before = path.read_bytes()
    started = time.monotonic()
    with pytest.raises(StoreCorruptError) as caught:
        Store(path, lock_wait=30.0)
    assert time.monotonic() - started < 5  # not 30 s of waiting for a "lock" that is a "block"
    assert str(path) in str(caught.value) and "corrupt" in str(caught.value)
    assert path.read_bytes() == before  # nothing changed


def test_a_locked_store_is_reported_as_locked(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    _make_store(path)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time\n"
                               f"c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLockedError, match="in use by another process"):
            Store(path, lock_wait=0.2)
    finally:
        holder.kill()
        holder.wait()


def test_a_missing_store_is_reported_as_missing(tmp_path: Path) -> None:
    with pytest.raises(StoreMissingError, match="no store file there"):
        Store(tmp_path / "nothing.duckdb", read_only=True)


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Paths made immutable (chattr +i: not writable even by root) for the test, made mutable again after."""
    if shutil.which("chattr") is None:
        pytest.fail("chattr is needed to make a read-only path that root cannot write")
    paths: list[Path] = []
    yield paths
    for path in paths:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def _lock(path: Path, paths: list[Path]) -> None:
    subprocess.run(["chattr", "+i", str(path)], check=True)
    paths.append(path)


def test_a_read_only_store_file_and_folder(tmp_path: Path, immutable: list[Path]) -> None:
    file = tmp_path / "runs.duckdb"
    _make_store(file)
    _lock(file, immutable)
    with pytest.raises(StoreReadOnlyError) as caught:
        Store(file)
    assert str(file) in str(caught.value) and "read-only" in str(caught.value)
    folder = tmp_path / "locked"
    folder.mkdir()
    _lock(folder, immutable)
    with pytest.raises(StoreReadOnlyError, match="not writable"):
        Store(folder / "runs.duckdb")
    done = cli("query", "What is 2 + 2?", "--store", str(folder / "runs.duckdb"), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(folder / "runs.duckdb") in done.stderr and "read-only" in done.stderr


@pytest.mark.slow
def test_a_full_disk_during_a_sweep_stops_it_with_one_line(tmp_path: Path) -> None:
    store = tmp_path / "runs.duckdb"
    first = cli("sweep", "bundled", "--limit", "2", "--store", str(store), "--allow-failures", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    with Store(store) as opened:
        kept = opened.execute("SELECT count(*) FROM call_cache")[0][0]
    full = cli("sweep", "bundled", "--store", str(store), cwd=tmp_path, limit_bytes=16_384)
    assert full.returncode != 0 and "Traceback" not in full.stderr, full.stderr[-2000:]
    assert str(store) in full.stderr
    with Store(store) as opened:  # nothing already stored is lost
        assert opened.execute("SELECT count(*) FROM call_cache")[0][0] >= kept

