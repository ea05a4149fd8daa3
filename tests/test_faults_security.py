"""Fault matrix, secrets and file access (issue 13): key-echoing endpoints, keys in config URLs, an unauthenticated
public bind, and path traversal from the dashboard. Every case goes through the real part: HTTP endpoints on
loopback, the CLI as a process, the dashboard through Streamlit's AppTest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cascade_core.cascade import ConfigError, load_config
from cascade_core.cascade.client import TierClient
from cascade_core.cascade.config import RetryConfig, TierConfig
from cascade_core.security import MASK, PathNotAllowedError, allowed_path, redact
from tests.factories import fake_key
from tests.hostile_endpoint import HostileServer
from tests.page_support import ROOT, open_page
from tests.ports import free_port

# Not a known key shape and held in a variable whose name does not look secret: only the tier's key and the
# prefix rule can catch it.
KEY = fake_key("Zq7", "hostile access value")  # no well-known shape: caught as a value from the environment
KEY_VAR = "HOSTILE_ACCESS_VALUE"
PROJECT_KEY, NVIDIA_KEY = fake_key("sk-proj-", "shape"), fake_key("nvapi-", "shape")  # caught by shape


def page_text(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "code", "success", "error", "warning", "info", "text")
             for e in getattr(at, kind)]
    parts += [e.value for e in at.sidebar.error] if hasattr(at.sidebar, "error") else []
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(str(p) for p in parts) + str(at.session_state.to_dict())


def assert_no_key(text: str, key: str = KEY) -> None:
    assert key not in text
    for n in range(8, len(key)):  # no run of 8+ of its leading characters either
        assert key[:n] not in text, f"key prefix of {n} characters leaked"


# -- the redaction function ------------------------------------------------------------------------------------
def test_redact_catches_keys_prefixes_and_keys_in_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-abcdefghijklmnop")
    text = (f"bad key {KEY}; starts {KEY[:9]}...; https://bob:{KEY}@gw.example/v1 and "
            f"https://gw.example/v1?region=eu&api_key={KEY}&x=1 header 'Bearer {KEY}' env tok-abcdefghij... "
            f"{PROJECT_KEY} {NVIDIA_KEY}")
    out = redact(text, [KEY])
    assert_no_key(out)
    assert "tok-abcdefgh" not in out  # a prefix of a key from the environment
    assert PROJECT_KEY[:12] not in out and NVIDIA_KEY[:10] not in out
    assert "https://***@gw.example/v1" in out and "api_key=***&x=1" in out and "region=eu" in out
    plain = "HTTP 500: the upstream model timed out after 30 s (request 42, Basic plan)"
    assert redact(plain) == plain  # ordinary error text is left alone


# -- endpoints that echo the key -------------------------------------------------------------------------------
def test_client_error_from_an_echoing_endpoint_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VAR, KEY)
    with HostileServer("echo_auth") as server:
        tier = TierConfig(name="t", model="m", base_url=server.base_url, api_key_env=KEY_VAR, input_price=0,
                          output_price=0, timeout=5)
        call = TierClient(tier, server.base_url, RetryConfig(max_retries=0)).call([{"role": "user", "content": "hi"}])
    assert call.error is not None and "401" in call.error and MASK in call.error
    assert_no_key(call.error)


def test_settings_test_button_never_shows_an_echoed_key(store_path: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileServer("echo_auth") as server:
        config = tmp_path / "hostile.toml"
        tier = (f'base_url = "{server.base_url}"\napi_key_env = "{KEY_VAR}"\ninput_price = 0.1\n'
                'output_price = 0.2\ntimeout = 5\n')
        config.write_text(f'[retry]\nmax_retries = 0\n[[tiers]]\nname = "small"\nmodel = "m-small"\n{tier}'
                          f'[[tiers]]\nname = "large"\nmodel = "m-large"\n{tier}')
        monkeypatch.setenv("CASCADE_CONFIG", str(config))
        monkeypatch.setenv(KEY_VAR, KEY)
        at = open_page("settings")
        at.button(key="set_test_0").click().run()
    assert not at.exception
    text = page_text(at)
    assert "Model list unavailable" in text and "401" in text and MASK in text  # the error is shown, redacted
    assert_no_key(text)


# -- keys in the config --------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [f"https://alice:{KEY}@api.example.com/v1", f"https://api.example.com/v1?api_key={KEY}",
                                 f"ftp://alice:{KEY}@api.example.com/v1"])
def test_a_key_in_base_url_is_never_echoed(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "leaky.toml"
    config.write_text(f'[[tiers]]\nname = "small"\nmodel = "m"\nbase_url = "{url}"\ninput_price = 0\n'
                      'output_price = 0\n[[tiers]]\nname = "large"\nmodel = "m2"\ninput_price = 0\noutput_price = 0\n')
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert "base_url" in str(err.value)
    assert_no_key(str(err.value))
    # stderr of a command
    env = {**os.environ, "CASCADE_STORE": str(tmp_path / "s.duckdb")}
    env.pop(KEY_VAR, None)
    proc = subprocess.run([sys.executable, "-m", "cascade_core", "query", "hi", "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 2 and "base_url" in proc.stderr
    assert_no_key(proc.stderr + proc.stdout)
    # the dashboard's sidebar
    monkeypatch.setenv("CASCADE_CONFIG", str(config))
    monkeypatch.setenv("CASCADE_STORE", str(tmp_path / "s.duckdb"))
    import streamlit as st

    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    sidebar = "\n".join(e.value for e in at.sidebar.error)
    assert "base_url" in sidebar
    assert_no_key(page_text(at) + sidebar)
    st.cache_resource.clear()


# -- binding beyond loopback -----------------------------------------------------------------------------------
def test_dashboard_bound_beyond_loopback_says_it_has_no_login(store_path: Path) -> None:
    from streamlit import config as st_config

    def dashboard() -> AppTest:
        return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()

    at = dashboard()
    assert not any("no login" in w.value for w in at.sidebar.warning)  # 127.0.0.1 / unset: quiet
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "0.0.0.0")
    try:
        at = dashboard()
    finally:
        st_config.set_option("server.address", before)
    assert any("no login of its own" in w.value and "reverse proxy" in w.value for w in at.sidebar.warning)


def _serve(tmp_path: Path, *extra: str, token: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "CASCADE_STORE": str(tmp_path / "s.duckdb"), "PYTHONPATH": str(ROOT)}
    env.pop("CASCADE_SERVE_TOKEN", None)
    env.pop("CASCADE_CONFIG", None)
    if token:
        env["CASCADE_SERVE_TOKEN"] = token
    return subprocess.Popen([sys.executable, "-m", "cascade_core", "serve", *extra], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _healthy(port: int, deadline: float) -> bool:
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                return reply.status == 200
        except OSError:
            time.sleep(0.2)
    return False


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_serve_on_all_interfaces_without_a_token_refuses_and_says_why(tmp_path: Path) -> None:
    proc = _serve(tmp_path, "--host", "0.0.0.0", "--port", str(free_port()))
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        _stop(proc)
        pytest.fail("serve started on 0.0.0.0 without a token")
    assert proc.returncode == 2
    assert "refusing to serve on 0.0.0.0 without a token" in err
    assert "CASCADE_SERVE_TOKEN" in err and "--allow-unauthenticated" in err


@pytest.mark.parametrize("how", ["flag", "token"])
def test_serve_on_all_interfaces_starts_with_a_token_or_the_explicit_flag(how: str, tmp_path: Path) -> None:
    port = free_port()
    extra = ["--allow-unauthenticated"] if how == "flag" else []
    proc = _serve(tmp_path, "--host", "0.0.0.0", "--port", str(port), *extra,
                  token="t0ken-for-test" if how == "token" else None)
    try:
        assert _healthy(port, time.time() + 90), proc.stderr.read() if proc.poll() is not None else "no answer"
    finally:
        _stop(proc)


# -- files a browser user can reach --------------------------------------------------------------------------
def _folders(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    data = tmp_path / "data"
    outside = tmp_path / "private"
    data.mkdir()
    outside.mkdir()
    return data, outside, [str(data)]


def test_allowed_path_resolves_dot_dot_and_symlinks(tmp_path: Path) -> None:
    data, outside, folders = _folders(tmp_path)
    (data / "ok.csv").write_text("a\n1\n")
    (outside / "secret.csv").write_text("user,hash\nroot,$6$saltsalt$HASHVALUE\n")
    (data / "link.csv").symlink_to(outside / "secret.csv")
    (data / "sub").symlink_to(outside, target_is_directory=True)
    assert allowed_path(str(data / "ok.csv"), folders) == (data / "ok.csv").resolve()
    assert allowed_path(str(data / "x" / ".." / "ok.csv"), folders) == (data / "ok.csv").resolve()
    for attempt in (str(data / ".." / "private" / "secret.csv"), str(data / "link.csv"),
                    str(data / "sub" / "secret.csv"), "/etc/passwd", "../../../../etc/shadow",
                    str(outside / "missing.csv"), str(data), "~/.ssh/id_rsa"):
        with pytest.raises(PathNotAllowedError) as err:
            allowed_path(attempt, folders)
        assert "not a file inside the data folders" in str(err.value) and "HASHVALUE" not in str(err.value)
    # an outside file that exists and one that does not get the same answer: no existence oracle
    msgs = []
    for name in ("secret.csv", "nothing-here.csv"):
        with pytest.raises(PathNotAllowedError) as err:
            allowed_path(str(outside / name), folders)
        msgs.append(str(err.value).replace(name, "X"))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("kind", ["dotdot", "symlink", "absolute"])
def test_sweep_page_never_reads_or_echoes_a_file_outside_the_data_folders(kind: str, store_path: Path,
                                                                          tmp_path: Path) -> None:
    data, outside = tmp_path / "data", tmp_path / "private"  # the store fixture chdirs to tmp_path: ./data
    data.mkdir(exist_ok=True)
    outside.mkdir()
    secret = outside / "shadow.csv"
    secret.write_text("item_id,model,correct\nroot,$6$saltsalt$HASHVALUE,maybe\n")
    (data / "results.csv").symlink_to(secret)
    path = {"dotdot": "data/../private/shadow.csv", "symlink": str(data / "results.csv"),
            "absolute": str(secret)}[kind]
    at = AppTest.from_file(str(ROOT / "pages" / "sweep.py"), default_timeout=60).run()
    at.radio(key="sweep_source").set_value("Import recorded results").run()
    at.text_input(key="sweep_results_path").set_value(path)
    at.button(key="sweep_import").click().run()
    assert not at.exception
    text = page_text(at)
    assert "not a file inside the data folders" in text
    assert "HASHVALUE" not in text and "saltsalt" not in text and "maybe" not in text
    # the live dataset path is held to the same rule
    at.radio(key="sweep_source").set_value("Live on the configured tiers").run()
    at.radio(key="sweep_dataset_kind").set_value("Path on this machine").run()
    at.text_input(key="sweep_dataset_path").set_value(path)
    at.button(key="sweep_start").click().run()
    assert "HASHVALUE" not in page_text(at)
    assert at.session_state["sweep_job"] is None if "sweep_job" in at.session_state else True
