"""Text helpers for the log generator: vocabularies, random fields, timestamp formats."""

from __future__ import annotations

import numpy as np

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_FIRST = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
          "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "wendy",
          "yuki", "minji", "jiho", "sofia", "lucas", "emma", "noah", "mia", "leon", "ana",
          "omar", "priya", "chen", "fatima", "mateo", "hana", "ivo", "lena", "raj", "sara")
_LAST = ("kim", "lee", "park", "smith", "mueller", "garcia", "rossi", "dubois", "novak",
         "tanaka", "silva", "khan", "jensen", "costa", "nowak", "ivanova", "martin", "brown")
_ADJ = ("red", "blue", "black", "white", "green", "leather", "wool", "cotton", "running",
        "hiking", "wireless", "ceramic", "steel", "organic", "vintage", "slim", "kids")
_NOUN = ("shoes", "jacket", "backpack", "headphones", "mug", "lamp", "watch", "scarf",
         "sneakers", "bottle", "tent", "keyboard", "charger", "sofa", "dress", "gloves")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "ShopApp/4.12.1 (iOS 18.1; iPhone15,2)",
    "ShopApp/4.12.0 (Android 14; SM-S911B)",
    "okhttp/4.12.0",
    "curl/8.5.0",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
)
_UA_WEIGHTS = (0.30, 0.14, 0.16, 0.12, 0.06, 0.09, 0.07, 0.03, 0.01, 0.02)
_FIRST_OCTETS = (23, 31, 37, 46, 62, 77, 78, 81, 84, 89, 91, 93, 95, 109, 146, 151, 176, 178,
                 188, 195, 203, 212, 213, 217)


class Vocab:
    """Random field values drawn from fixed pools (deterministic in the generator)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        firsts = np.array(_FIRST)[rng.integers(0, len(_FIRST), 3000)]
        lasts = np.array(_LAST)[rng.integers(0, len(_LAST), 3000)]
        style = rng.integers(0, 3, 3000)
        self.user_pool = sorted({
            f"{f}.{la[0]}" if s == 0 else (f"{f[0]}{la}" if s == 1 else f"{f}{la[:2]}{n}")
            for f, la, s, n in zip(firsts.tolist(), lasts.tolist(), style.tolist(),
                                   rng.integers(1, 99, 3000).tolist(), strict=True)
        })
        o1 = np.array(_FIRST_OCTETS)[rng.integers(0, len(_FIRST_OCTETS), 5000)]
        rest = rng.integers(1, 255, (5000, 3))
        self.ip_pool = [f"{a}.{b}.{c}.{d}" for a, (b, c, d) in
                        zip(o1.tolist(), rest.tolist(), strict=True)]
        self.products = [f"{a}-{b}" for a in _ADJ for b in _NOUN]

    def zipf_index(self, k: int, size: int, a: float = 1.3) -> np.ndarray:
        return (self.rng.zipf(a, k) - 1) % size

    def users(self, k: int) -> list[str]:
        pool = self.user_pool
        return [pool[i] for i in self.zipf_index(k, len(pool), 1.2).tolist()]

    def ips(self, k: int) -> list[str]:
        pool = self.ip_pool
        return [pool[i] for i in self.zipf_index(k, len(pool), 1.15).tolist()]

    def hexes(self, k: int, digits: int) -> list[str]:
        """`k` random lowercase hex strings of `digits` characters."""
        nbytes = (digits + 1) // 2
        raw = self.rng.integers(0, 256, k * nbytes, dtype=np.uint8).tobytes().hex()
        step = 2 * nbytes
        return [raw[i : i + digits] for i in range(0, len(raw), step)]

    def ints(self, k: int, lo: int, hi: int) -> list[int]:
        return self.rng.integers(lo, hi, k).tolist()

    def ms(self, k: int, median: float, sigma: float = 0.6) -> list[int]:
        vals = self.rng.lognormal(np.log(median), sigma, k)
        return np.maximum(1, np.round(vals)).astype(int).tolist()

    def money(self, k: int, median: float = 48.0) -> list[str]:
        vals = self.rng.lognormal(np.log(median), 0.8, k)
        return [f"{v:.2f}" for v in vals.tolist()]

    def pick(self, options: tuple[str, ...] | list[str], k: int,
             p: tuple[float, ...] | None = None) -> list[str]:
        idx = self.rng.choice(len(options), k, p=None if p is None else np.asarray(p) / sum(p))
        return [options[i] for i in idx.tolist()]

    def user_agents(self, k: int) -> list[str]:
        return self.pick(USER_AGENTS, k, _UA_WEIGHTS)

    def products_q(self, k: int) -> list[str]:
        pool = self.products
        return [pool[i] for i in self.zipf_index(k, len(pool), 1.1).tolist()]


# ------------------------------------------------------------------ timestamps


def iso_ms(times: np.ndarray) -> list[str]:
    """'YYYY-MM-DDTHH:MM:SS.mmm' (UTC) for epoch-second floats."""
    ms = np.floor(times * 1000).astype("int64").astype("datetime64[ms]")
    return np.datetime_as_string(ms, unit="ms").tolist()


def fmt_iso_z(times: np.ndarray) -> list[str]:
    return [s + "Z" for s in iso_ms(times)]


def fmt_log4j(times: np.ndarray) -> list[str]:
    return [f"{s[:10]} {s[11:19]},{s[20:23]}" for s in iso_ms(times)]


def fmt_elastic(times: np.ndarray) -> list[str]:
    """log4j2 `%d{ISO8601}`: 2026-11-20T04:12:03,123."""
    return [f"{s[:19]},{s[20:23]}" for s in iso_ms(times)]


def fmt_postgres(times: np.ndarray) -> list[str]:
    return [f"{s[:10]} {s[11:23]} UTC" for s in iso_ms(times)]


_MON = {f"{i + 1:02d}": m for i, m in enumerate(MONTHS)}


def fmt_nginx_access(times: np.ndarray) -> list[str]:
    mon = _MON
    return [f"{s[8:10]}/{mon[s[5:7]]}/{s[:4]}:{s[11:19]} +0000" for s in iso_ms(times)]


def fmt_nginx_error(times: np.ndarray) -> list[str]:
    return [f"{s[:4]}/{s[5:7]}/{s[8:10]} {s[11:19]}" for s in iso_ms(times)]


def fmt_syslog(times: np.ndarray) -> list[str]:
    mon = _MON
    return [f"{mon[s[5:7]]} {s[8:10].replace('0', ' ', 1) if s[8] == '0' else s[8:10]} "
            f"{s[11:19]}" for s in iso_ms(times)]
