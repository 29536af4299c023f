"""Vectorised building blocks for the simulator: noise, envelopes, counters, distributions."""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """An independent generator for (seed, keys...): adding a series never shifts another."""
    words = [seed & 0xFFFFFFFF, *(zlib.crc32(k.encode()) for k in keys)]
    return np.random.default_rng(np.random.SeedSequence(words))


def diurnal(hours: np.ndarray) -> np.ndarray:
    """Traffic shape over the UTC day: 1.0 at 15:00, 0.2 at 03:00."""
    return 0.6 + 0.4 * np.cos(2 * np.pi * (hours - 15.0) / 24.0)


def smooth_noise(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """Zero-mean, unit-std noise correlated over about `width` samples."""
    width = max(1, width)
    white = rng.standard_normal(n + 6 * width)
    x = np.arange(-3 * width, 3 * width + 1)
    kernel = np.exp(-0.5 * (x / width) ** 2)
    smooth = np.convolve(white, kernel / kernel.sum(), mode="same")[3 * width : 3 * width + n]
    std = float(smooth.std())
    return smooth / std if std > 0 else smooth


def envelope(ts: np.ndarray, start: float, end: float, rise_s: float, fall_s: float) -> np.ndarray:
    """0 before `start`, ramps to 1 over `rise_s`, holds, falls to 0 over `fall_s` after `end`."""
    up = np.clip((ts - start) / max(rise_s, 1.0), 0.0, 1.0)
    down = np.clip(1.0 - (ts - end) / max(fall_s, 1.0), 0.0, 1.0)
    return np.minimum(up, down)


def progress(ts: np.ndarray, start: float, end: float) -> np.ndarray:
    """0 before `start`, rising linearly to 1 at `end`, 1 after."""
    return np.clip((ts - start) / max(end - start, 1.0), 0.0, 1.0)


def since(ts: np.ndarray, at: float, tau_s: float) -> np.ndarray:
    """exp(-(t - at)/tau) after `at`, 0 before: a decaying kick (warm-up, spike)."""
    dt = ts - at
    out = np.zeros_like(ts, dtype=float)
    after = dt >= 0
    out[after] = np.exp(-dt[after] / tau_s)
    return out


def accumulate(
    inc: np.ndarray,
    ts: np.ndarray,
    resets: list[int],
    offset: np.ndarray | float,
    integer: bool,
) -> np.ndarray:
    """Counter values from per-step increments, restarting from zero after each reset.

    `inc[i]` is what happened in (ts[i-1], ts[i]]. A reset at epoch `r` inside that interval
    leaves only the part after `r` in the first sample after the restart, like a real process
    whose counters begin at zero when it starts. `offset` is the value before the window
    (the process was already running); it is dropped at the first reset.
    """
    c = np.cumsum(inc, axis=0, dtype=float) + offset
    step = float(ts[1] - ts[0]) if len(ts) > 1 else 1.0
    for r in resets:
        i = int(np.searchsorted(ts, r, side="left"))
        if i >= len(ts) or i == 0:
            continue
        frac = (ts[i] - r) / step
        part = inc[i] * frac
        if integer:
            part = np.floor(part)
        c[i:] = c[i:] - c[i] + part
    return c


# ---------------------------------------------------------------- normal distribution helpers


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7), vectorised."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def norm_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(z / np.sqrt(2.0)))


class LatencyMix:
    """A per-step mixture of lognormal components and point masses, binned into buckets.

    For each step it yields the probability of each histogram bucket and the mean latency
    of requests that fall in it, so `_sum` is consistent with the bucket counts.
    """

    def __init__(self, bounds: tuple[float, ...], n: int) -> None:
        self.bounds = np.asarray(bounds, dtype=float)
        self.p = np.zeros((n, len(bounds)))
        self.pe = np.zeros((n, len(bounds)))

    def lognormal(self, weight: np.ndarray, median: np.ndarray, sigma: float) -> None:
        mu = np.log(median)[:, None]
        finite = np.isfinite(self.bounds)
        logb = np.where(finite, np.log(np.where(finite, self.bounds, 1.0)), 0.0)[None, :]
        cdf = np.where(finite, norm_cdf((logb - mu) / sigma), 1.0)
        mean = np.exp(mu + sigma * sigma / 2.0)
        part = mean * np.where(finite, norm_cdf((logb - mu - sigma * sigma) / sigma), 1.0)
        w = weight[:, None]
        self.p += w * np.diff(cdf, axis=1, prepend=0.0)
        self.pe += w * np.diff(part, axis=1, prepend=0.0)

    def point(self, weight: np.ndarray, value: float) -> None:
        k = int(np.searchsorted(self.bounds, value, side="left"))
        self.p[:, k] += weight
        self.pe[:, k] += weight * value

    def sample(self, rng: np.random.Generator, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bucket counts per step (non-cumulative), latency sum per step) for `n` requests."""
        p = np.clip(self.p, 0.0, None)
        p = p / p.sum(axis=1, keepdims=True)
        counts = rng.multinomial(n.astype(np.int64), p)
        lo = np.concatenate(([0.0], self.bounds[:-1]))
        hi = np.where(np.isfinite(self.bounds), self.bounds, lo * 2)
        mid = np.broadcast_to((lo + hi) / 2, p.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(self.p > 1e-12, self.pe / np.maximum(self.p, 1e-300), mid)
        return counts, (counts * mean).sum(axis=1)
