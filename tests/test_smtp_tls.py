"""The digest mailed the way mail providers require: over TLS (STARTTLS on the submission port, or TLS
from the first byte), with a login. A real aiosmtpd server on 127.0.0.1 with the certificate of
tests/data/tls, trusted as a private CA is: SSL_CERT_FILE."""

import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import RELEVANT_ITEMS, TLS, SmtpSink, free_port, newswatch, rss, write_config

USER, PASSWORD = "newswatch", "s3cret pass"


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture(params=["starttls", "ssl"])
def tls_smtp(request):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")
    # With TLS from the first byte, aiosmtpd does not see the session as TLS, so it must not demand it
    # for AUTH; with STARTTLS it refuses AUTH (and mail) before the upgrade.
    tls = ({"tls_context": context, "require_starttls": True, "auth_require_tls": True} if request.param == "starttls"
           else {"ssl_context": context, "auth_require_tls": False})
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), authenticator=authenticate, **tls)
    controller.start()
    sink.port = controller.port
    yield request.param, sink
    controller.stop()


def test_the_digest_is_mailed_over_tls_with_a_login(tmp_path, feed_server, tls_smtp):
    security, sink = tls_smtp
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=sink.port)
    cfg.write_text(cfg.read_text().replace('security = "none"', f'security = "{security}"\nusername = "{USER}"\n'
                                                                 'password_env = "NW_TEST_SMTP_PASSWORD"'))
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    trusted = {"SSL_CERT_FILE": str(TLS / "cert.pem"), "NW_TEST_SMTP_PASSWORD": PASSWORD}

    # A wrong password, and a certificate nobody said to trust, each fail the digest on one line...
    for env, said in (({**trusted, "NW_TEST_SMTP_PASSWORD": "wrong"}, "535"),
                      ({**trusted, "SSL_CERT_FILE": str(tmp_path / "no-such-ca.pem")}, "CERTIFICATE_VERIFY_FAILED")):
        failed = newswatch("--config", str(cfg), "digest", env=env)
        line = failed.stdout.strip()  # (stderr also holds the test server's own log of the failed handshake)
        assert failed.returncode == 1 and len(line.splitlines()) == 1 and said in line, failed
    assert not sink.messages

    # ... and the same digest goes out once both are right.
    out = newswatch("--config", str(cfg), "digest", env=trusted)
    assert out.returncode == 0, out
    assert len(sink.messages) == 1 and "Moscow" in sink.messages[0].get_body(("plain",)).get_content()
