"""The sign-ins of one token service: which method to use, start, look up, cancel, forget."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from ..audit import EventSink, watch_sign_in
from ..errors import BadRequest, BrokerUnavailable, NotFound, TooManySignIns
from ..metrics import track_pending
from ..models import FlowState, SignInMethod
from ..scopes import check_claims
from .auth_code import AuthCodeSignIn
from .continuation import continue_in_browser, continue_without_broker
from .flow import SignInFlow
from .strategy import SignInStrategy

__all__ = ["FINISHED_FLOW_TTL", "MAX_FINISHED_FLOWS", "SignInRegistry"]

#: Seconds a finished flow stays visible to clients before it is forgotten.
FINISHED_FLOW_TTL = 600
#: At most this many finished flows are kept; the oldest go first.
MAX_FINISHED_FLOWS = 100


class SignInRegistry:
    """Registry of sign-in methods and of the flows started with them.

    Args:
        strategies: the methods this service offers.
        default_method: the method used when a client asks for ``auto``
            (``JupyterMsal.sign_in_method``).
        broker_required: ``JupyterMsal.broker == "always"``: refuse every sign-in while the
            broker is unavailable.
        explain_fallback: say why ``auto`` skipped a method it prefers (not when the admin
            turned that method off).
        resolve_scopes: validates the scopes a sign-in consents to (the admin policy).
        check_tenant: validates the tenant a sign-in is for (its form and the admin policy
            ``allowed_tenants``); returns it normalized, or None for the configured
            authority's own. Without it, no sign-in may name a tenant.
        auto_methods: the methods ``auto`` may choose (``JupyterMsal.auto_sign_in_methods``).
        max_pending: how many flows may wait for the user at once.
        events: where audit events of sign-ins go (none without a sink).
    """

    def __init__(
        self,
        strategies: Iterable[SignInStrategy],
        *,
        default_method: SignInMethod = SignInMethod.AUTO,
        broker_required: bool = False,
        explain_fallback: bool = True,
        resolve_scopes: Callable[[Sequence[str]], tuple[str, ...]],
        max_pending: int,
        log: logging.Logger,
        auto_methods: Iterable[SignInMethod] | None = None,
        events: EventSink | None = None,
        check_tenant: Callable[[str], str | None] | None = None,
    ) -> None:
        self.strategies = {s.method: s for s in strategies}
        self.default_method = default_method
        self.broker_required = broker_required
        self.explain_fallback = explain_fallback
        self._resolve_scopes = resolve_scopes
        self._check_tenant = check_tenant
        self._max_pending = max_pending
        self._log = log
        self._flows: dict[str, SignInFlow] = {}
        #: Flows that hold a slot of ``max_pending`` while their strategy starts them.
        self._starting = 0
        self.auto_methods = set(self.strategies if auto_methods is None else auto_methods)
        self._lock = threading.Lock()
        self.events = events
        track_pending(self)

    def pending(self) -> int:
        """How many flows are waiting for the user."""
        with self._lock:
            return sum(1 for f in self._flows.values() if f.state is FlowState.PENDING)

    def available_methods(self) -> list[SignInMethod]:
        """The methods that can be used here, in the order ``auto`` tries them."""
        return [m for m, s in self._ordered() if s.unavailable_reason() is None]

    def _ordered(self) -> list[tuple[SignInMethod, SignInStrategy]]:
        preference = [
            SignInMethod.HUB,
            SignInMethod.BROKER,
            SignInMethod.AUTH_CODE,
            SignInMethod.DEVICE_CODE,
        ]
        return sorted(
            self.strategies.items(),
            key=lambda item: preference.index(item[0]) if item[0] in preference else 99,
        )

    def choose(self, requested: str, tenant: str | None = None) -> tuple[SignInMethod, str | None]:
        """The method to use for a request, and why a preferred one was skipped (if it was).

        A sign-in for a ``tenant`` cannot be the hub login's (JupyterHub signed in to its own
        tenant once, without the guest tenant's own demands)."""
        try:
            wanted = SignInMethod.parse(requested)
        except ValueError as err:
            raise BadRequest(str(err)) from None
        broker = self.strategies.get(SignInMethod.BROKER)
        broker_reason = broker.unavailable_reason() if broker else "not offered"
        if self.broker_required and broker_reason is not None:
            raise BrokerUnavailable(
                f"JupyterMsal.broker is 'always' but the broker is not available: {broker_reason}."
            )
        method = self.default_method if wanted is SignInMethod.AUTO else wanted
        if method is not SignInMethod.AUTO:
            strategy = self.strategies.get(method)
            reason = strategy.unavailable_reason() if strategy else "not offered here"
            if reason is None and tenant is not None and method is SignInMethod.HUB:
                reason = f"the JupyterHub login cannot sign in to tenant {tenant}"
            if reason is not None:
                if method is SignInMethod.BROKER:
                    raise BrokerUnavailable(f"The broker is not available: {reason}.")
                raise BadRequest(f"Sign-in with {method.value} is not available: {reason}.")
            return method, None
        skipped: str | None = None
        for candidate, strategy in self._ordered():
            if candidate not in self.auto_methods:
                continue
            if tenant is not None and candidate is SignInMethod.HUB:
                continue
            reason = strategy.unavailable_reason()
            if reason is None and isinstance(strategy, AuthCodeSignIn):
                reason = strategy.reaches_browser()  # auto prefers no pasting
            if reason is None:
                return candidate, skipped
            if self.explain_fallback:
                skipped = skipped or reason
        raise BadRequest("No sign-in method is available on this server.")

    def start(
        self,
        method: str = "auto",
        scopes: Sequence[str] = (),
        claims: str | None = None,
        tenant: str | None = None,
    ) -> SignInFlow:
        """Start a sign-in (blocking: may ask the identity provider for a code).

        ``claims`` is a claims challenge (MFA or Conditional Access step-up) to satisfy;
        ``tenant`` (a tenant id or domain name) the tenant to sign in to, when a guest tenant
        demands a sign-in of its own (None: the configured authority's).
        """
        if not self.strategies:
            raise BadRequest("Service principal mode: nobody signs in, tokens are app-only.")
        tenant = self._tenant(tenant)
        chosen, fallback_reason = self.choose(method, tenant)
        resolved = self._resolve_scopes(scopes) if scopes else ()
        if claims is not None:
            check_claims(claims)
        self._forget_finished()
        self._reserve()
        flow = SignInFlow(chosen, resolved, fallback_reason, claims, tenant)
        try:
            self._arm_fallback(flow)
            self.strategies[chosen].start(flow)
        except BaseException:
            with self._lock:
                self._starting -= 1
            raise
        with self._lock:
            self._starting -= 1
            self._flows[flow.id] = flow
        watch_sign_in(self.events, flow)
        self._log.info(
            "jupyter-msal: sign-in %s started (%s%s)",
            flow.id,
            chosen.value,
            f", tenant {tenant}" if tenant else "",
        )
        return flow

    def _tenant(self, tenant: str | None) -> str | None:
        """The checked tenant of a sign-in (None: the configured authority's own)."""
        if tenant is None:
            return None
        if self._check_tenant is None:
            raise BadRequest("Sign-ins here cannot name a tenant: leave the tenant out.")
        return self._check_tenant(tenant)

    def _reserve(self) -> None:
        """Take one of the ``max_pending`` slots before a flow starts (starting the flow may wait
        on the identity provider), or raise :class:`TooManySignIns`; the caller gives it back."""
        with self._lock:
            pending = self._starting + sum(
                1 for f in self._flows.values() if f.state is FlowState.PENDING
            )
            if pending >= self._max_pending:
                raise TooManySignIns(
                    f"{pending} sign-ins are already waiting: finish or cancel one first."
                )
            self._starting += 1

    def _arm_fallback(self, flow: SignInFlow) -> None:
        """What ``flow`` continues with when its method fails in a way another one avoids."""
        auth_code = self.strategies.get(SignInMethod.AUTH_CODE)
        if flow.method is SignInMethod.DEVICE_CODE and auth_code is not None:
            continue_in_browser(flow, auth_code, self._log)
        elif flow.method is SignInMethod.BROKER and not self.broker_required:
            browser_ok = (
                isinstance(auth_code, AuthCodeSignIn) and auth_code.reaches_browser() is None
            )
            if browser_ok and SignInMethod.AUTH_CODE in self.auto_methods:
                continue_without_broker(flow, auth_code, self._log)
            elif SignInMethod.DEVICE_CODE in self.strategies:
                device_code = self.strategies[SignInMethod.DEVICE_CODE]
                continue_without_broker(flow, device_code, self._log, then=self._arm_fallback)

    def get(self, flow_id: str) -> SignInFlow:
        """The flow with this id, or :class:`NotFound`."""
        with self._lock:
            flow = self._flows.get(flow_id)
        if flow is None:
            raise NotFound(
                f"No sign-in with id {flow_id!r} (finished ones are kept 10 minutes, the "
                f"last {MAX_FINISHED_FLOWS} of them)."
            )
        return flow

    def complete(self, flow_id: str, url: str) -> SignInFlow:
        """Finish an auth-code sign-in with the address the browser ended on (blocking)."""
        flow = self.get(flow_id)
        strategy = self.strategies.get(flow.method)
        if not isinstance(strategy, AuthCodeSignIn):
            raise BadRequest(f"A {flow.method.value} sign-in is not completed with an address.")
        return strategy.complete(flow, url)

    def flow_for_state(self, state: str) -> SignInFlow | None:
        """The pending auth-code sign-in whose link carried ``state``, if any."""
        strategy = self.strategies.get(SignInMethod.AUTH_CODE)
        return strategy.flow_for_state(state) if isinstance(strategy, AuthCodeSignIn) else None

    def cancel(self, flow_id: str) -> SignInFlow:
        """Cancel a pending flow; a finished one is returned unchanged."""
        flow = self.get(flow_id)
        if flow.cancel():
            self._log.info("jupyter-msal: sign-in %s cancelled", flow.id)
        return flow

    def list(self) -> list[SignInFlow]:
        """All flows not yet forgotten, oldest first."""
        self._forget_finished()
        with self._lock:
            return sorted(self._flows.values(), key=lambda f: f.created_on)

    def _forget_finished(self) -> None:
        """Forget flows finished more than FINISHED_FLOW_TTL ago, and all but the newest
        MAX_FINISHED_FLOWS finished ones."""
        cutoff = time.time() - FINISHED_FLOW_TTL
        with self._lock:
            finished = sorted(
                (f for f in self._flows.values() if f.finished_on),
                key=lambda f: f.finished_on or 0.0,
            )
            excess = len(finished) - MAX_FINISHED_FLOWS
            for index, flow in enumerate(finished):
                if index < excess or (flow.finished_on or 0.0) < cutoff:
                    del self._flows[flow.id]

    def close(self) -> None:
        """Cancel every pending flow."""
        with self._lock:
            flows = list(self._flows.values())
        for flow in flows:
            flow.cancel()
