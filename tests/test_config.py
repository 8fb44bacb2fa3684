"""Settings: the public base URL a cluster gateway announces to the others."""

from __future__ import annotations

import pytest

from foretell.config import Settings


def test_public_base_url_defaults_to_host_and_port() -> None:
    assert Settings(host="127.0.0.1", port=8001).public_base_url == "http://127.0.0.1:8001"
    assert Settings(host="::1", port=8001).public_base_url == "http://[::1]:8001"
    wildcard = Settings(host="0.0.0.0", port=8001).public_base_url  # noqa: S104
    assert wildcard.startswith("http://") and "0.0.0.0" not in wildcard


def test_public_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORETELL_PUBLIC_URL", "https://gw1.example.com:8443/")
    monkeypatch.setenv("FORETELL_COOKIE_DOMAIN", ".example.com")
    settings = Settings.from_env()
    assert settings.public_base_url == "https://gw1.example.com:8443"
    assert settings.cookie_domain == ".example.com"


@pytest.mark.parametrize("url", ["gw1.example.com", "https://gw1.example.com/app",
                                 "javascript:alert(1)", "https://a b"])
def test_public_url_is_an_origin(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("FORETELL_PUBLIC_URL", url)
    with pytest.raises(ValueError, match="FORETELL_PUBLIC_URL"):
        Settings.from_env()
