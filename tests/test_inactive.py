"""jupyter-msal inactive: a server whose extension cannot start says why, everywhere.

An invalid setting (here ``JUPYTER_MSAL_AUTHORITY=http://...``) or a file that cannot be read
leaves the extension loaded but inactive: every ``jupyter-msal/...`` request of an
authenticated caller is answered 503 ``inactive`` with the reason, and kernels and
``jupyter msal`` in a terminal show it (the panel's browser test is in
``browser/test_inactive_browser.py``).
"""

from __future__ import annotations

import errno
import os
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_msal.config.settings import JupyterMsal
from jupyter_msal.constants import (
    IDENTITY_ENDPOINT_ENV,
    IDENTITY_HEADER_ENV,
    SERVER_SECRET_ENV,
    SERVER_URL_ENV,
)
from jupyter_msal.errors import ConfigError, ExtensionInactive, error_from_dict
from jupyter_msal.server.app import _inactive_reason
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment, run_cli

BAD_AUTHORITY = "http://login.example.com/organizations"
PREFIX = "jupyter-msal is not active on this server: "

# -- in-process server (pytest-jupyter): every route, every answer checked against OpenAPI ----


@pytest.fixture
def msal_extra_env() -> dict[str, str]:
    return {"JUPYTER_MSAL_AUTHORITY": BAD_AUTHORITY}


ROUTES = [
    ("GET", "status"),
    ("GET", "accounts"),
    ("GET", "accounts/someone"),
    ("DELETE", "accounts"),
    ("DELETE", "accounts/someone"),
    ("POST", "token"),
    ("GET", "sign-ins"),
    ("POST", "sign-ins"),
    ("GET", "sign-ins/abc"),
    ("DELETE", "sign-ins/abc"),
    ("POST", "sign-ins/abc/response"),
    ("GET", "openapi.json"),
]


def _check_inactive(status: int, body: Any) -> None:
    assert status == 503, body
    assert body["error"] == "inactive"
    assert body["message"].startswith(PREFIX)
    assert "JupyterMsal.authority" in body["message"]
    assert BAD_AUTHORITY in body["message"]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_answers_inactive_with_the_reason(
    api: Any, kernel_headers: dict[str, str], method: str, path: str
) -> None:
    body = {} if method == "POST" else None
    _check_inactive(*await api(method, path, body))  # Jupyter token
    _check_inactive(*await api(method, path, body, headers=kernel_headers))  # kernel secret


@pytest.mark.parametrize(("method", "path"), [("GET", "status"), ("POST", "token")])
async def test_unauthenticated_callers_get_403_as_before(api: Any, method: str, path: str) -> None:
    body = {} if method == "POST" else None
    status, answer = await api(method, path, body, headers={"Authorization": ""})
    assert status == 403 and "not active" not in str(answer)
    wrong = {"Authorization": "", "X-Jupyter-Msal-Secret": "not-the-secret"}
    status, answer = await api(method, path, body, headers=wrong)
    assert status == 403 and "not active" not in str(answer)


async def test_kernel_environment_is_published_and_the_reason_kept(msal_app: Any) -> None:
    assert msal_app.service is None
    assert "JupyterMsal.authority" in (msal_app.inactive_reason or "")
    assert os.environ[SERVER_SECRET_ENV] == msal_app.kernel_secret
    assert os.environ[SERVER_URL_ENV].endswith("/")


async def test_managed_identity_endpoint_says_why(api: Any, msal_app: Any) -> None:
    assert os.environ[IDENTITY_ENDPOINT_ENV].endswith("jupyter-msal/managed-identity")
    params = {"api-version": "2019-08-01", "resource": "https://storage.azure.com"}
    header = {"X-IDENTITY-HEADER": os.environ[IDENTITY_HEADER_ENV], "Authorization": ""}
    status, body = await api("GET", "managed-identity", params=params, headers=header)
    # a 4xx, which the Azure SDKs do not retry (the endpoint's protocol, see managed_identity)
    assert status == 400 and body["error"] == "inactive", body
    assert body["message"].startswith(PREFIX) and "JupyterMsal.authority" in body["message"]
    status, body = await api(
        "GET", "managed-identity", params=params, headers={"Authorization": ""}
    )
    assert status == 401 and "not active" not in body["message"]


def test_an_os_error_at_start_names_its_file() -> None:
    denied = PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/srv/cache.bin")
    assert _inactive_reason(denied) == "cannot open /srv/cache.bin: Permission denied"
    assert _inactive_reason(ConfigError.about("authority", "bad")) == "JupyterMsal.authority: bad"


def test_clients_rebuild_one_typed_error_with_the_exact_message() -> None:
    message = PREFIX + "JupyterMsal.authority: bad"
    err = error_from_dict({"error": "inactive", "message": message, "hint": "Restart."}, 503)
    assert isinstance(err, ExtensionInactive)
    assert err.message == message
    assert ExtensionInactive.because("JupyterMsal.authority: bad").message == message


# -- unreadable files: ConfigError naming the setting ------------------------------------------


@pytest.fixture
def locked_ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A CA bundle inside a folder this process may not enter.

    The tests run as root, which permissions do not stop (chmod 000 is no obstacle), so EACCES
    is simulated where the kernel would raise it: ``os.stat`` and ``open`` of anything in the
    folder fail with PermissionError, as they do for a user without search permission on it
    (``Path.is_file`` calls ``os.stat``, so it meets the error as it would for real).
    """
    folder = tmp_path / "private"
    folder.mkdir()
    bundle = folder / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    real_stat, real_open = os.stat, open

    def denied(path: Any) -> bool:
        return str(path).startswith(str(folder) + os.sep)

    def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        if denied(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_stat(path, *args, **kwargs)

    def opener(path: Any, *args: Any, **kwargs: Any) -> Any:
        if denied(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr("builtins.open", opener)
    yield bundle


@pytest.mark.parametrize("setting", ["ca_bundle", "client_certificate_path"])
def test_unreadable_file_is_a_config_error_naming_the_setting(
    locked_ca: Path, setting: str
) -> None:
    with pytest.raises(ConfigError) as info:
        JupyterMsal(**{setting: str(locked_ca)})
    assert info.value.setting == setting
    assert f"JupyterMsal.{setting}: cannot read {locked_ca}: permission denied" in str(info.value)


def test_file_readable_only_by_stat_is_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose folder can be entered but which cannot be read (mode 000 for a user)."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    real_open = open

    def opener(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path) == str(bundle):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", opener)
    with pytest.raises(ConfigError, match=r"JupyterMsal\.ca_bundle: cannot read .*permission"):
        JupyterMsal(ca_bundle=str(bundle))


def test_missing_file_still_says_it_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"JupyterMsal\.ca_bundle: file .* does not exist"):
        JupyterMsal(ca_bundle=str(tmp_path / "nope.pem"))


# -- a real server in a subprocess: its kernels and its terminals ------------------------------


class InactiveServer(JupyterServerProcess):
    """A server expected to come up inactive: ready once ``jupyter-msal/status`` answers 503."""

    def _answers(self, path: str) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"jupyter server exited:\n{self.log()}")
        try:
            self.request("GET", path)
        except urllib.error.HTTPError as err:
            return err.code == 503
        except OSError:
            return False
        return True


@pytest.fixture(scope="module")
def inactive_server(
    msal_emulator_module: EntraEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InactiveServer]:
    """One server per module, started with an authority that is not https."""
    work = tmp_path_factory.mktemp("inactive")
    env = emulator_environment(
        msal_emulator_module, work / "cache.bin", JUPYTER_MSAL_AUTHORITY=BAD_AUTHORITY
    )
    server = InactiveServer(env, work / "server")
    try:
        yield server.start()
    finally:
        server.stop()


def test_server_logs_the_reason_and_answers_503(inactive_server: InactiveServer) -> None:
    log = inactive_server.log(20000)
    assert PREFIX + "JupyterMsal.authority" in log and "https://<host>/<tenant>" in log
    with pytest.raises(urllib.error.HTTPError) as info:
        inactive_server.request("GET", "jupyter-msal/status")
    assert info.value.code == 503
    body = info.value.read().decode()
    assert "inactive" in body and "JupyterMsal.authority" in body


def test_kernel_shows_the_reason(inactive_server: InactiveServer) -> None:
    with inactive_server.open_kernel() as kernel:
        kernel.ok("%load_ext jupyter_msal")
        result = kernel.execute("%msal_token https://storage.azure.com/.default")
        text = result.text()
        assert result.status == "error"
        assert PREFIX in text and "JupyterMsal.authority" in text, result.outputs
        assert "kernel secret" not in text and "restart this kernel" not in text.lower()
        accounts = kernel.execute("%msal_accounts").text()
        assert PREFIX in accounts and "kernel secret" not in accounts
        probe = kernel.ok(
            "import jupyter_msal, jupyter_msal.errors\n"
            "try:\n"
            "    jupyter_msal.get_token('https://storage.azure.com/.default')\n"
            "except jupyter_msal.errors.ExtensionInactive as err:\n"
            "    print('get_token:', err.message)\n"
            "try:\n"
            "    jupyter_msal.Credential().get_token('https://storage.azure.com/.default')\n"
            "except Exception as err:\n"
            "    print('Credential:', err)\n"
        ).stdout
        assert f"get_token: {PREFIX}JupyterMsal.authority" in probe, probe
        credential = probe.split("Credential:", 1)[1]  # azure-core's error, or ours without it
        assert PREFIX + "JupyterMsal.authority" in credential, probe


def test_cli_in_a_terminal_prints_the_reason(inactive_server: InactiveServer) -> None:
    env = dict(inactive_server.env, **inactive_server.kernel_environment())
    for args in (["status"], ["token", "--scope", "https://storage.azure.com/.default"]):
        done = run_cli(env, *args)
        assert done.returncode != 0, done
        assert PREFIX in done.stderr and "JupyterMsal.authority" in done.stderr, done.stderr
        assert "server extension enable" not in done.stderr
        assert done.stdout == ""
