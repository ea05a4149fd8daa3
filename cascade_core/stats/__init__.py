"""Statistics shared by the sweep, routing and the audit: exact binomial tails and the tests built on them."""

from cascade_core.stats.binomial import binom_cdf, error_rate_p_value, labels_to_certify, wilson

__all__ = ["binom_cdf", "error_rate_p_value", "labels_to_certify", "wilson"]
