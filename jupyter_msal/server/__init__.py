"""The jupyter_server extension: the app that owns the TokenService and its REST handlers."""
