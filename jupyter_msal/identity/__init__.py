"""The msal side: everything below the sign-in flows that talks to, or about, the identity provider.

``msal_app`` builds the msal application and calls it, ``msal_results`` turns its error dicts into
typed errors (with the AADSTS hints);
``transport`` is the HTTP session msal uses (timeouts, CA bundle, loopback guard, call records);
``accounts`` reads the signed-in accounts from the cache; ``lookup`` finds issued tokens in O(1);
``single_flight`` shares one refresh among concurrent callers; ``workers`` holds the thread
pools that keep msal off the event loop; ``broker_detect`` tells whether an OS broker can be
used; ``certificates`` reads a client certificate; ``hub_link`` is a user server's client of the
jupyter-msal JupyterHub service, and ``hub_routing`` decides which requests the hub login serves;
``assembly`` builds these parts from the settings.
"""
