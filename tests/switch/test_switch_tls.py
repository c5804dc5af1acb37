"""SIP over TLS (sips) with a throw-away CA made at test time (trustme)."""

from __future__ import annotations

import ssl

import trustme

from callcore import App, Endpoint


def test_call_over_tls_and_untrusted_certificate_refused(arun):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    trusting = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(trusting)
    untrusting = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)  # system CAs only

    app = App()
    seen = []

    @app.route("4000", public=True)
    async def answer(call):
        seen.append(call.peer.transport)
        await call.answer()
        await call.wait_hangup()

    async def main():
        server = Endpoint(app, server_ssl=server_ctx)
        await server.start(["tls:127.0.0.1:0"])
        port = server.local_address("tls")[1]
        results = []
        for ctx in (trusting, untrusting):
            client = Endpoint(App(), server_ssl=server_ctx, client_ssl=ctx)
            await client.start(["tls:127.0.0.1:0"])
            res = await client.dial(f"sips:4000@127.0.0.1:{port}", timeout=3)
            hangup = await res.call.hangup() if res.answered else None
            results.append((res.outcome, hangup.by if hangup else None))
            await client.stop()
        await server.stop()
        return results

    trusted, untrusted = arun(main())
    assert trusted == ("answered", "local")
    assert untrusted[0] != "answered"  # the handshake fails: nothing reaches the server
    assert seen == ["tls"]
