"""Is the OS authentication broker usable here? Detected once, safely, with the reason."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["BrokerStatus", "detect_broker", "missing_runtime_reason"]

#: Platforms where ``pip install 'jupyter-msal[broker]'`` alone brings a usable broker (the
#: broker itself, WAM or the Enterprise SSO plug-in, is part of the operating system there).
_PIP_IS_ENOUGH = ("win32", "darwin")


@dataclass(frozen=True)
class BrokerStatus:
    """Whether sign-in through the OS broker (pymsalruntime) is possible, and why not."""

    available: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shown by status."""
        return {"available": self.available, "reason": self.reason}


def missing_runtime_reason(platform: str | None = None) -> str:
    """Why there is no broker when pymsalruntime cannot be imported, and what would help.

    The pip hint is given only where installing the package is all it takes (Windows, macOS).
    On Linux the broker is a separate system service that a package from PyPI cannot bring.
    """
    platform = sys.platform if platform is None else platform
    if platform in _PIP_IS_ENOUGH:
        return "pymsalruntime is not installed (pip install 'jupyter-msal[broker]')"
    if platform.startswith("linux"):
        return (
            "pymsalruntime is not installed; on Linux the OS broker also needs the Microsoft "
            "Identity Broker service (microsoft-identity-broker, installed with the Intune app)"
        )
    return f"pymsalruntime is not installed, and there is no OS broker on {platform}"


def detect_broker(setting: str, *, platform: str | None = None) -> BrokerStatus:
    """Check the ``JupyterMsal.broker`` setting against what this machine has.

    pymsalruntime raises ``OSError`` when its system libraries are missing and ``RuntimeError``
    when no broker service runs; both mean "not available", never a crash. ``platform``
    (default ``sys.platform``) only chooses the words of the reason.
    """
    if setting == "never":
        return BrokerStatus(False, "JupyterMsal.broker is 'never'")
    try:
        import pymsalruntime  # noqa: F401
    except ImportError:
        return BrokerStatus(False, missing_runtime_reason(platform))
    except (OSError, RuntimeError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return BrokerStatus(False, f"the OS broker cannot run here: {first}")
    return BrokerStatus(True, None)
