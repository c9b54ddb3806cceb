"""Gateway name -> implementation. Imported lazily so a provider's module loads only when used."""

from __future__ import annotations

from importlib import import_module

from pasar.payments.gateways.base import Gateway, GatewayName

_IMPLEMENTATIONS = {
    GatewayName.STRIPE: "pasar.payments.gateways.stripe.StripeGateway",
    GatewayName.HITPAY: "pasar.payments.gateways.hitpay.HitPayGateway",
    GatewayName.TWOC2P: "pasar.payments.gateways.twoc2p.TwoC2PGateway",
    GatewayName.SANDBOX: "pasar.payments.gateways.sandbox.SandboxGateway",
}


def gateway_class(name: str) -> type[Gateway]:
    """The class for a gateway name; KeyError for a name that is not a gateway."""
    if name not in {gateway.value for gateway in GatewayName}:
        raise KeyError(name)
    module, _, attribute = _IMPLEMENTATIONS[GatewayName(name)].rpartition(".")
    cls: type[Gateway] = getattr(import_module(module), attribute)
    return cls
