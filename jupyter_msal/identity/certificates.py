"""Load a service principal's certificate in the form msal wants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["load_client_certificate"]


def load_client_certificate(path: str) -> dict[str, Any]:
    """msal's ``client_credential`` dict for a PEM file holding a certificate and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    try:
        pem = Path(path).read_bytes()
    except OSError as err:
        raise ConfigError.about("client_certificate_path", f"cannot read {path!r}: {err}") from err
    try:
        certificate = x509.load_pem_x509_certificate(pem)
        serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as err:
        raise ConfigError.about(
            "client_certificate_path",
            f"{path!r} must hold a PEM certificate and an unencrypted PEM private key ({err})",
        ) from err
    return {
        "private_key": pem.decode(),
        "thumbprint": certificate.fingerprint(hashes.SHA1()).hex(),  # noqa: S303 - required by Entra
        "public_certificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
    }
