"""Config validation: every bad value gets a message naming the key, the tier and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from cascade_core.cascade import ConfigError, default_config, load_config
from tests.factories import fake_key

GOOD = """
signal = "self_rated"
thresholds = [0.75, 0.5]

[[tiers]]
name = "small"
model = "meta/llama-3.1-8b-instruct"
base_url = "https://integrate.api.nvidia.com/v1"
api_key_env = "NVIDIA_API_KEY"
input_price = 0.2
output_price = 0.2

[[tiers]]
name = "mid"
model = "meta/llama-3.3-70b-instruct"
base_url = "https://integrate.api.nvidia.com/v1"
api_key_env = "NVIDIA_API_KEY"
input_price = 0.9
output_price = 0.9

[[tiers]]
name = "large"
model = "nvidia/llama-3.1-nemotron-ultra-253b-v1"
base_url = "https://integrate.api.nvidia.com/v1"
api_key_env = "NVIDIA_API_KEY"
input_price = 3.0
output_price = 3.0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cascade.toml"
    path.write_text(text)
    return path


def test_default_is_three_embedded_tiers() -> None:
    config = default_config()
    assert [t.name for t in config.tiers] == ["small", "mid", "large"]
    assert config.uses_embedded
    assert config.thresholds == [0.75, 0.75]


def test_good_file_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.tiers[2].model == "nvidia/llama-3.1-nemotron-ultra-253b-v1"
    assert config.thresholds == [0.75, 0.5]
    assert not config.uses_embedded


def test_negative_price_names_tier_and_key(tmp_path: Path) -> None:
    bad = GOOD.replace("input_price = 0.9", "input_price = -1", 1)
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, bad))
    message = str(err.value)
    assert "tiers[1] (name 'mid').input_price" in message
    assert "greater than or equal to 0" in message
    assert "cascade.toml" in message


def test_wrong_threshold_count(tmp_path: Path) -> None:
    bad = GOOD.replace("thresholds = [0.75, 0.5]", "thresholds = [0.75]")
    with pytest.raises(ConfigError, match=r"expected 2 values \(one per non-final tier\), got 1"):
        load_config(write(tmp_path, bad))


def test_threshold_out_of_range(tmp_path: Path) -> None:
    bad = GOOD.replace("thresholds = [0.75, 0.5]", "thresholds = [0.75, 4]")
    with pytest.raises(ConfigError, match=r"thresholds\[1\]: expected a number in \[0, 1\], got 4"):
        load_config(write(tmp_path, bad))


def test_unknown_key_and_missing_field(tmp_path: Path) -> None:
    bad = GOOD.replace('name = "small"', 'name = "small"\ncolour = "red"').replace("output_price = 3.0", "")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, bad))
    message = str(err.value)
    assert "tiers[0] (name 'small').colour: Extra inputs are not permitted" in message
    assert "tiers[2] (name 'large'): give both input_price and output_price, or neither" in message


def test_bad_url_and_signal(tmp_path: Path) -> None:
    bad = GOOD.replace('signal = "self_rated"', 'signal = "vibes"').replace(
        'base_url = "https://integrate.api.nvidia.com/v1"', 'base_url = "integrate.api.nvidia.com"', 1
    )
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, bad))
    message = str(err.value)
    assert "signal: Input should be 'self_rated', 'logprob' or 'verify'" in message
    assert "tiers[0] (name 'small').base_url" in message and "http(s) URL" in message


def test_single_tier_rejected(tmp_path: Path) -> None:
    one_tier = GOOD.split("[[tiers]]")
    text = one_tier[0].replace("thresholds = [0.75, 0.5]", "") + "[[tiers]]" + one_tier[1]
    with pytest.raises(ConfigError, match="tiers: List should have at least 2 items"):
        load_config(write(tmp_path, text))


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "tiers = [[["))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_overrides_and_fingerprint() -> None:
    config = default_config()
    changed = config.with_overrides(threshold=0.5, signal="logprob")
    assert changed.thresholds == [0.5, 0.5] and changed.signal == "logprob"
    assert changed.fingerprint() != config.fingerprint()
    assert config.fingerprint() == default_config().fingerprint()
    with pytest.raises(ConfigError):
        config.with_overrides(threshold=1.5)


def test_store_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASCADE_STORE", str(tmp_path / "x.duckdb"))
    monkeypatch.chdir(tmp_path)
    assert load_config().store_path == str(tmp_path / "x.duckdb")


def test_examples_parse() -> None:
    root = Path(__file__).resolve().parents[1] / "examples"
    files = sorted(root.glob("*.toml"))
    assert len(files) >= 2
    for path in files:
        config = load_config(path)
        assert len(config.tiers) >= 2


def test_credentials_in_urls_and_keys_in_env_names_are_refused(tmp_path: Path) -> None:
    with_creds = GOOD.replace('base_url = "https://integrate.api.nvidia.com/v1"',
                              'base_url = "https://user:tok3n@integrate.api.nvidia.com/v1"', 1)
    with pytest.raises(ConfigError, match="must not carry credentials"):
        load_config(write(tmp_path, with_creds))
    with_query = GOOD.replace('base_url = "https://integrate.api.nvidia.com/v1"',
                              'base_url = "https://x.example/v1?api-key=abc"', 1)
    with pytest.raises(ConfigError, match="must not carry credentials"):
        load_config(write(tmp_path, with_query))
    pasted = fake_key("nvapi-", "pasted key")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, GOOD.replace('api_key_env = "NVIDIA_API_KEY"', f'api_key_env = "{pasted}"', 1)))
    assert "NAME of an environment variable" in str(err.value)
    assert pasted not in str(err.value)  # a pasted key is never echoed back


def test_messages_are_not_noisy(tmp_path: Path) -> None:
    bad = GOOD.replace("thresholds = [0.75, 0.5]", "thresholds = [0.75]")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, bad))
    message = str(err.value)
    assert "Value error" not in message and "(top level)" not in message
    assert message.count("got") == 1


def test_fingerprint_tracks_what_changes_answers_only() -> None:
    config = default_config()
    slower = config.model_copy(update={"retry": config.retry.model_copy(update={"max_retries": 9})})
    assert slower.fingerprint() == config.fingerprint()  # retries change speed, not answers
    assert config.fingerprint([0.5, 0.5]) == config.with_overrides(threshold=0.5).fingerprint()
    assert config.fingerprint([0.5, 0.5]) != config.fingerprint()
