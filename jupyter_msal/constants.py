"""Names shared across the layers: the server extension and its clients (kernels, terminals,
the CLI), the settings and the token cache.

The server sets the two environment variables in its own process; kernels and terminals it
starts inherit them and send the secret in :data:`SECRET_HEADER`. Imports nothing.
"""

__all__ = [
    "API_PATH",
    "ENCRYPTION_MODES",
    "IDENTITY_ENDPOINT_ENV",
    "IDENTITY_HEADER",
    "IDENTITY_HEADER_ENV",
    "MANAGED_IDENTITY_PATH",
    "MSI_ENDPOINT_ENV",
    "SECRET_HEADER",
    "SERVER_SECRET_ENV",
    "SERVER_URL_ENV",
    "TENANTS_SEGMENT",
]

#: The values of ``JupyterMsal.cache_encryption`` (and of the token cache's ``encryption``).
ENCRYPTION_MODES = ("auto", "required", "none")

#: The server's URL including base_url, ending in "/".
SERVER_URL_ENV = "JUPYTER_MSAL_SERVER_URL"
#: A random secret minted at each server start.
SERVER_SECRET_ENV = "JUPYTER_MSAL_SERVER_SECRET"
#: The request header kernels and terminals authenticate with.
SECRET_HEADER = "X-Jupyter-Msal-Secret"
#: Where the REST API lives below the server's base_url.
API_PATH = "jupyter-msal"

# The App Service managed-identity protocol, as azure-identity and msal read it: the endpoint
# URL and the per-server secret that kernels and terminals send in IDENTITY_HEADER.
#: The managed-identity endpoint's URL (set for kernels and terminals).
IDENTITY_ENDPOINT_ENV = "IDENTITY_ENDPOINT"
#: The managed-identity endpoint's secret (set for kernels and terminals).
IDENTITY_HEADER_ENV = "IDENTITY_HEADER"
#: The request header that carries it.
IDENTITY_HEADER = "X-IDENTITY-HEADER"
#: Azure ML's managed-identity endpoint (a real managed identity when set).
MSI_ENDPOINT_ENV = "MSI_ENDPOINT"
#: Where the managed-identity endpoint lives below the server's base_url.
MANAGED_IDENTITY_PATH = f"{API_PATH}/managed-identity"
#: The segment before a tenant in the managed-identity endpoint's per-tenant URL
#: (``{MANAGED_IDENTITY_PATH}/tenants/<tenant>``).
TENANTS_SEGMENT = "tenants"
