"""The user's throttling choices that the CLI and the dashboard both offer, defined once."""

from __future__ import annotations

from copilot.errors import UsageError

# Multiplier on the forecast peak (docs/throttling.md, 'Proxy SpikeArrest').
DEFAULT_HEADROOM = 1.3
HEADROOM_MIN = 1.0
HEADROOM_MAX = 5.0
HEADROOM_RANGE = f"{HEADROOM_MIN:g}-{HEADROOM_MAX:g}"

# A suggestion may reject at most this share of healthy legitimate requests in replay
# (docs/throttling.md, 'Sizing by replay').
REJECT_SHARE = 0.001


def check_headroom(headroom: float) -> float:
    """``headroom`` as a float, or UsageError when it is outside the allowed range."""
    if not HEADROOM_MIN <= float(headroom) <= HEADROOM_MAX:
        raise UsageError(
            f"--headroom must be between {HEADROOM_MIN:.1f} and {HEADROOM_MAX:.1f}, got {headroom}"
        )
    return float(headroom)
