"""Names shared by the server extension and its clients (kernels, terminals, the CLI).

The server sets the two environment variables in its own process; kernels and terminals it
starts inherit them and send the secret in :data:`SECRET_HEADER`. Imports nothing.
"""

__all__ = ["API_PATH", "SECRET_HEADER", "SERVER_SECRET_ENV", "SERVER_URL_ENV"]

#: The server's URL including base_url, ending in "/".
SERVER_URL_ENV = "JUPYTER_MSAL_SERVER_URL"
#: A random secret minted at each server start.
SERVER_SECRET_ENV = "JUPYTER_MSAL_SERVER_SECRET"
#: The request header kernels and terminals authenticate with.
SECRET_HEADER = "X-Jupyter-Msal-Secret"
#: Where the REST API lives below the server's base_url.
API_PATH = "jupyter-msal"
