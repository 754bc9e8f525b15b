"""What the browser tests look for on the page: jupyter-msal's elements and texts."""

#: The status-bar (JupyterLab) or top-bar (Notebook 7) sign-in item.
INDICATOR = "#jp-msal-indicator"
#: The accounts panel the indicator opens.
PANEL = "#jp-msal-panel"
#: The sign-in dialog.
DIALOG = "#jp-msal-signin-dialog"
#: The device code shown in the dialog.
USER_CODE = "#jp-msal-user-code"
#: The indicator's text while nobody is signed in.
SIGNED_OUT = "Sign in to Microsoft"
