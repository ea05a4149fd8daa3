"""The embedded simulator: three Llama-3.1-like tiers served over the real OpenAI wire protocol on loopback."""

from cascade_core.simulator.answers import SIMULATED_MARK, Catalog
from cascade_core.simulator.embedded import EmbeddedSimulator
from cascade_core.simulator.ladder import LADDER, MODEL_NAMES, PRICE_SOURCE, TierSpec
from cascade_core.simulator.model import Mode, ModeContext, SimReply, SimRequest, default_modes, simulate
from cascade_core.simulator.protocol import FINGERPRINT
from cascade_core.simulator.server import create_app

__all__ = [
    "FINGERPRINT", "LADDER", "MODEL_NAMES", "PRICE_SOURCE", "SIMULATED_MARK", "Catalog", "EmbeddedSimulator", "Mode",
    "ModeContext", "SimReply", "SimRequest", "TierSpec", "create_app", "default_modes", "simulate",
]
