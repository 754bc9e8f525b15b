"""Is the OS authentication broker usable here? Detected once, safely, with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["BrokerStatus", "detect_broker"]


@dataclass(frozen=True)
class BrokerStatus:
    """Whether sign-in through the OS broker (pymsalruntime) is possible, and why not."""

    available: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shown by status."""
        return {"available": self.available, "reason": self.reason}


def detect_broker(setting: str) -> BrokerStatus:
    """Check the ``JupyterMsal.broker`` setting against what this machine has.

    pymsalruntime raises ``OSError`` when its system libraries are missing and ``RuntimeError``
    when no broker service runs; both mean "not available", never a crash.
    """
    if setting == "never":
        return BrokerStatus(False, "JupyterMsal.broker is 'never'")
    try:
        import pymsalruntime  # noqa: F401
    except ImportError:
        return BrokerStatus(
            False, "pymsalruntime is not installed (pip install 'jupyter-msal[broker]')"
        )
    except (OSError, RuntimeError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return BrokerStatus(False, f"the OS broker cannot run here: {first}")
    return BrokerStatus(True, None)
