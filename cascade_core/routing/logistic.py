"""L2-regularised logistic regression in numpy (Newton steps): small, deterministic, no ML framework."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Logistic:
    weights: np.ndarray  # (d,) on standardised features
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def predict(self, features: np.ndarray) -> np.ndarray:
        z = ((features - self.mean) / self.scale) @ self.weights + self.bias
        out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return out


def fit_logistic(features: np.ndarray, labels: np.ndarray, *, l2: float = 1.0, iterations: int = 25) -> Logistic:
    """Fit P(label | features). Constant labels give a constant model (the base rate)."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    xs = (x - mean) / scale
    n, d = xs.shape
    rate = float(np.clip(y.mean(), 1e-3, 1 - 1e-3)) if n else 0.5
    if n == 0 or y.min() == y.max():
        return Logistic(np.zeros(d), float(np.log(rate / (1 - rate))), mean, scale)
    design = np.hstack([xs, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    theta[-1] = np.log(rate / (1 - rate))
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ theta, -30, 30)))
        gradient = design.T @ (p - y) + penalty * theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return Logistic(theta[:-1], float(theta[-1]), mean, scale)
