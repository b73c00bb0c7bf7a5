#!/usr/bin/python3
"""A real SMTP server (Debian's python3-aiosmtpd) for teamreg's SMTP tests.

Listens on 127.0.0.1 (port 0 = a free port), prints exactly one line `listening on PORT` on stdout
when it accepts connections, and writes every message it accepts into DIR:

  NNNN.eml   the bytes received after DATA, dot-stuffing undone, exactly as the client sent them
  NNNN.json  the envelope (mail_from, rcpt_tos) and the message as Python's `email` package reads
             it: decoded subject, From/To/Cc, text and HTML parts (line endings as "\n"), and any
             parsing defects.
             Written after the .eml and renamed into place, so a reader that sees it sees both.

When a message's DATA has been received (and before it is stored or answered), one line with its
Message-ID is appended to DIR/data-started.log, so a test can tell that a client is inside DATA.

--reject answers 550 to every RCPT and DATA, --tempfail 451. --auth USER:PASSWORD offers AUTH
PLAIN/LOGIN without TLS (loopback tests only) and refuses mail from unauthenticated clients.
--delay-data SECONDS waits that long after the data-started line before storing the message and
answering 250; a client that disconnects meanwhile leaves nothing stored (its DATA is cancelled).
--port P listens on P instead (to restart a server where a client expects it). It exits when
stdin reaches EOF, so it never outlives the test process that started it.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult


class Capture:
    def __init__(self, directory, mode, delay_data=0.0):
        self.directory = directory
        self.mode = mode
        self.delay_data = delay_data
        # Continue the numbering of a previous run on the same directory (a restarted server).
        self.count = len([n for n in os.listdir(directory) if n.endswith(".eml")])

    def refusal(self):
        if self.mode == "reject":
            return "550 5.7.1 Refused by the test server for <someone@example.com>"
        if self.mode == "tempfail":
            return "451 4.3.0 Try again later"
        return None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self.refusal()
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        refusal = self.refusal()
        if refusal:
            return refusal
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with open(os.path.join(self.directory, "data-started.log"), "a", encoding="utf-8") as f:
            f.write("%s\n" % str(message["message-id"]))
        if self.delay_data > 0:
            await asyncio.sleep(self.delay_data)
        self.count += 1
        base = os.path.join(self.directory, "%04d" % self.count)
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        defects = [repr(d) for d in message.defects]
        for part in message.walk():
            defects += [repr(d) for d in part.defects]
        summary = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "authenticated": bool(session.authenticated),
            "subject": str(message["subject"]),
            "from": str(message["from"]),
            "to": str(message["to"]),
            "cc": str(message["cc"]) if message["cc"] is not None else "",
            "message_id": str(message["message-id"]),
            "date": str(message["date"]),
            "content_type": message.get_content_type(),
            "text": body(text),
            "html": body(html),
            "defects": defects,
        }
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(summary, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Message accepted"


def body(part):
    """The decoded content of a part, line endings as "\n" (None when there is no such part)."""
    return None if part is None else part.get_content().replace("\r\n", "\n")


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        # handled=False: aiosmtpd then answers a failure with 535 itself.
        return AuthResult(success=ok, handled=False)
    return authenticate


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--reject", action="store_const", const="reject", dest="mode")
    mode.add_argument("--tempfail", action="store_const", const="tempfail", dest="mode")
    parser.add_argument("--auth", help="USER:PASSWORD")
    parser.add_argument("--delay-data", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()

    handler = Capture(args.dir, args.mode, args.delay_data)
    options = {}
    if args.auth:
        # Loopback test server: AUTH without TLS is the point, not an oversight.
        warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
        user, _, password = args.auth.partition(":")
        options = dict(authenticator=make_authenticator(user, password), auth_required=True,
                       auth_require_tls=False)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="capture.test", **options),
                                      host="127.0.0.1", port=args.port)
    port = server.sockets[0].getsockname()[1]
    print("listening on %d" % port, flush=True)

    stdin_closed = loop.create_future()

    def on_stdin():
        if not sys.stdin.buffer.read1(4096):
            loop.remove_reader(sys.stdin.fileno())
            if not stdin_closed.done():
                stdin_closed.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    await stdin_closed
    server.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
