"""Sign-in methods as strategies behind one interface, and the registry of running sign-ins.

::

    SignInRegistry (registry.py)        chooses a method, starts, looks up and cancels flows
      └── SignInStrategy (strategy.py), one module per method:
            DeviceCodeSignIn (device_code.py), AuthCodeSignIn (auth_code.py, with a
            LoopbackReceiver from loopback.py: sockets on every address of localhost from
            loopback_bind.py, served by loopback_server.py), BrokerSignIn (broker.py),
            HubSignIn (hub.py: the JupyterHub login, through the hub service)
    continue_in_browser (continuation.py)  a blocked device code carries on as auth code
    SignInFlow (flow.py)             one sign-in and its state machine

A new method is one new module implementing :class:`SignInStrategy`, registered in
``configured.py`` (the methods a configuration offers).
"""

from .auth_code import AuthCodeSignIn
from .broker import BrokerSignIn
from .device_code import DeviceCodeSignIn
from .flow import SignInFlow, SignInPrompt
from .hub import HubSignIn
from .registry import FINISHED_FLOW_TTL, SignInRegistry
from .strategy import SignInContext, SignInStrategy

__all__ = [
    "FINISHED_FLOW_TTL",
    "AuthCodeSignIn",
    "BrokerSignIn",
    "DeviceCodeSignIn",
    "HubSignIn",
    "SignInContext",
    "SignInFlow",
    "SignInPrompt",
    "SignInRegistry",
    "SignInStrategy",
]
