"""Built-in prices from the genai-prices catalog (issue 16): used when a tier gives none, never silently free."""

from __future__ import annotations

from pathlib import Path

import pytest

from cascade_core.cascade.config import ConfigError, load_config, validate_config
from cascade_core.cascade.price_catalog import lookup_price
from cascade_core.views.settings import tier_rows

OPENAI = "https://api.openai.com/v1"


def _config(**tier: object):
    last = {"name": "last", "model": "sim-llama-3.1-405b", "input_price": 3.0, "output_price": 3.0}
    return validate_config({"tiers": [{"name": "first", **tier}, last]}, source="test.toml")


def test_catalog_prices_match_the_public_list_prices_in_facts() -> None:
    """FACTS.md's example list prices, found in the catalog by endpoint URL or provider id."""
    expected = [("gpt-4o-mini", OPENAI, None, 0.15, 0.60), ("gpt-4o", OPENAI, None, 2.50, 10.00),
                ("claude-3-haiku-20240307", "https://api.anthropic.com/v1", None, 0.25, 1.25),
                ("meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo", "https://api.together.xyz/v1", None, 0.88, 0.88),
                ("accounts/fireworks/models/llama-v3p1-8b-instruct", None, "fireworks", 0.20, 0.20)]
    for model, url, provider, price_in, price_out in expected:
        found = lookup_price(model, url, provider)
        assert found is not None, model
        assert (found.input_price, found.output_price) == pytest.approx((price_in, price_out)), model


def test_a_tier_without_prices_takes_the_catalogs_and_settings_says_so() -> None:
    config = _config(model="gpt-4o-mini", base_url=OPENAI, api_key_env="OPENAI_API_KEY")
    tier = config.tiers[0]
    assert (tier.input_price, tier.output_price) == pytest.approx((0.15, 0.60))
    assert tier.price_origin.startswith("genai-prices 0.2.3: OpenAI gpt-4o-mini")
    assert tier_rows(config)[0]["price_from"] == tier.price_origin
    explicit = _config(model="gpt-4o-mini", base_url=OPENAI, input_price=0.1, output_price=0.2)
    assert (explicit.tiers[0].input_price, explicit.tiers[0].price_origin) == (0.1, "config")  # config wins
    assert explicit.fingerprint() != config.fingerprint()
    same = _config(model="gpt-4o-mini", base_url=OPENAI, api_key_env="OPENAI_API_KEY", input_price=0.15,
                   output_price=0.60)
    assert same.fingerprint() == config.fingerprint()  # where a price came from does not change the runs


def test_unknown_model_local_server_or_half_a_price_is_refused() -> None:
    for tier in ({"model": "meta/llama-3.1-8b-instruct", "base_url": "https://integrate.api.nvidia.com/v1"},
                 {"model": "gpt-4o-mini", "base_url": "http://127.0.0.1:8000/v1"},  # a local server, not OpenAI
                 {"model": "sim-llama-3.1-8b"}):
        with pytest.raises(ConfigError) as caught:
            _config(**tier)
        assert "no price given and genai-prices has none for model" in str(caught.value)
        assert "set input_price and output_price" in str(caught.value)
    with pytest.raises(ConfigError, match="give both input_price and output_price"):
        _config(model="gpt-4o-mini", base_url=OPENAI, input_price=0.15)


def test_openai_example_uses_the_catalog_and_the_nim_example_keeps_its_prices() -> None:
    root = Path(__file__).resolve().parents[1]
    openai_tiers = load_config(root / "examples" / "openai.toml").tiers
    assert [p for t in openai_tiers for p in (t.input_price, t.output_price)] == pytest.approx([0.15, 0.6, 2.5, 10.0])
    assert all(t.price_origin.startswith("genai-prices") for t in openai_tiers)
    assert all(t.price_origin == "config" for t in load_config(root / "examples" / "nim.toml").tiers)


@pytest.mark.parametrize(("header", "booked"), [("0.000123", 0.000123), ("0.0", None), ("0", None), ("-1", None),
                                                ("inf", None), ("nan", None), ("free", None), (None, None)])
def test_only_a_positive_booked_cost_counts(header: str | None, booked: float | None) -> None:
    # LiteLLM sends 0.0 for a model missing from its price map: that call is not free
    from cascade_core.cascade.attempts import proxy_cost

    assert proxy_cost({} if header is None else {"x-litellm-response-cost": header}) == booked
