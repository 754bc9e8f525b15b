"""Sign-in methods as strategies behind one interface, and the registry of running sign-ins.

::

    SignInRegistry (registry.py)        chooses a method, starts, looks up and cancels flows
      └── SignInStrategy (strategy.py), one module per method:
            DeviceCodeSignIn (device_code.py), BrokerSignIn (broker.py)
    SignInFlow (flow.py)             one sign-in and its state machine

A new method is one new module implementing :class:`SignInStrategy`, registered where the
service assembles its strategies.
"""

from .broker import BrokerSignIn
from .device_code import DeviceCodeSignIn
from .flow import SignInFlow, SignInPrompt
from .registry import FINISHED_FLOW_TTL, SignInRegistry
from .strategy import SignInContext, SignInStrategy

__all__ = [
    "FINISHED_FLOW_TTL",
    "BrokerSignIn",
    "DeviceCodeSignIn",
    "SignInContext",
    "SignInFlow",
    "SignInPrompt",
    "SignInRegistry",
    "SignInStrategy",
]
