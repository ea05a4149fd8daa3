"""AppTest: the Settings page shows tiers, prices, thresholds, key variables (never keys) and the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cascade_core.store import Store
from tests.factories import fake_key, make_trace
from tests.page_support import open_page

ROOT = Path(__file__).resolve().parents[1]
SECRET = fake_key("sk-test-", "settings page")



def settings_page() -> AppTest:
    return open_page("settings", timeout=60)


def all_text(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "code", "success", "error", "warning", "info")
             for e in getattr(at, kind)]
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(str(p) for p in parts)


def test_embedded_default(store_path: Path) -> None:
    with Store(store_path) as store:
        store.log_trace(make_trace(1))
    at = settings_page()
    assert not at.exception
    tiers = at.dataframe[0].value
    assert tiers["tier"].tolist() == ["small", "mid", "large"]
    assert tiers["input_usd_per_mtok"].tolist() == [0.20, 0.90, 3.00]
    assert tiers["threshold"].tolist() == ["0.75", "0.75", "last tier: always answers"]
    assert all(tiers["endpoint"].str.startswith("http://127.0.0.1:"))
    text = all_text(at)
    assert "Embedded simulator in use" in text
    assert "Fireworks" in text  # the price source with its date
    assert str(store_path.resolve()) in text and "Size: **" in text
    for index in range(3):
        at.button(key=f"set_test_{index}").click().run()
    assert not at.exception
    assert len(at.success) == 3
    assert "sim-llama-3.1-8b" in all_text(at)  # the model list


def test_key_variables_are_named_but_keys_never_shown(store_path: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "live.toml"
    config.write_text(
        "[retry]\nmax_retries = 0\n"
        '[[tiers]]\nname = "small"\nmodel = "m-small"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "CASCADE_TEST_KEY_SET"\ninput_price = 0.1\noutput_price = 0.2\ntimeout = 2\n'
        '[[tiers]]\nname = "large"\nmodel = "m-large"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "CASCADE_TEST_KEY_UNSET"\ninput_price = 1\noutput_price = 2\ntimeout = 2\n'
    )
    monkeypatch.setenv("CASCADE_CONFIG", str(config))
    monkeypatch.setenv("CASCADE_TEST_KEY_SET", SECRET)
    monkeypatch.delenv("CASCADE_TEST_KEY_UNSET", raising=False)
    at = settings_page()
    assert not at.exception
    tiers = at.dataframe[0].value
    assert tiers["key_variable"].tolist() == ["CASCADE_TEST_KEY_SET", "CASCADE_TEST_KEY_UNSET"]
    assert tiers["key_set"].tolist() == [True, False]
    assert "Live endpoints" in all_text(at)
    keys = [e.value for e in at.markdown if "from `$" in e.value]  # the names exactly, no Markdown escapes
    assert keys == ["- **small**: from `$CASCADE_TEST_KEY_SET` — set",
                    "- **large**: from `$CASCADE_TEST_KEY_UNSET` — NOT set"]
    at.button(key="set_test_0").click().run()  # nothing listens on port 9: shown as an error, not a crash
    assert not at.exception and at.error
    assert SECRET not in all_text(at)
    assert SECRET not in str(at.session_state.to_dict())
