"""REGISTER handling (RFC 3261 §10.3) on top of the location service and digest auth.

Single-domain: the address of record is ``sip:<user>@<domain>`` whatever host
the To URI names, where ``<user>`` is the To user part (an extension or a
username of a declared account). With ``open_registration`` every REGISTER
is accepted without authentication (test rigs, the RFC 4475 run); otherwise
the request must carry digest credentials (RFC 8760: SHA-256 or MD5) of the
account that owns the AOR.
"""

from __future__ import annotations

from email.utils import formatdate

from callcore.sip.auth import DigestChallenger, DigestParseError, parse_credentials
from callcore.sip.errors import SipParseError
from callcore.sip.message import Request
from callcore.sip.transaction import Peer
from callcore.sip.uri import SipURI, parse_uri
from callcore.switch.location import AccountBook, ContactSpec, LocationService, RegistrarError

Reply = tuple[int, str | None, list[tuple[str, str]]]


class Registrar:
    def __init__(
        self,
        location: LocationService,
        accounts: AccountBook,
        challenger: DigestChallenger,
        *,
        domain: str = "callcore",
        open_registration: bool = False,
        md5_only_agents: tuple[str, ...] = (),
    ) -> None:
        self.md5_only_agents = md5_only_agents
        self.location = location
        self.accounts = accounts
        self.challenger = challenger
        self.domain = domain
        self.open_registration = open_registration

    def aor_for(self, user: str) -> str:
        account = self.accounts.by_extension(user) or self.accounts.get(user)
        return f"sip:{account.extension if account else user}@{self.domain}"

    def handle(self, req: Request, source: Peer) -> Reply:
        to_uri = req.to.uri
        if not isinstance(to_uri, SipURI) or not to_uri.user:
            return 400, "To must be a SIP URI with a user part", []
        user = to_uri.user_unescaped or ""
        if not self.open_registration:
            denied = self._authorize(req, user)
            if denied is not None:
                return denied
        try:
            contacts: list[ContactSpec] | str
            contacts = "*" if req.contact_star else [_spec(a) for a in req.contacts]
            result = self.location.register(
                self.aor_for(user),
                contacts,
                req.call_id,
                req.cseq.number,
                expires=req.expires,
                source_host=source.host,
                source_port=source.port,
                transport=source.transport,
                user_agent=req.headers.get("user-agent"),
            )
        except RegistrarError as err:
            extra = [("Min-Expires", str(err.min_expires))] if err.min_expires is not None else []
            return err.status, err.reason, extra
        except (SipParseError, ValueError) as err:
            return 400, f"Bad Contact: {err}"[:80], []
        extra = [("Contact", f"<{c.uri}>;expires={c.expires}") for c in result.contacts]
        extra.append(("Date", formatdate(usegmt=True)))
        return 200, None, extra

    def _authorize(self, req: Request, user: str) -> Reply | None:
        value = req.headers.get("authorization")
        stale = False
        if value is not None and value.lstrip()[:6].lower() == "digest":
            result = self.challenger.verify(
                value, "REGISTER", self.accounts.password, digest_uri_check(value, req), req.body
            )
            if result.ok:
                account = self.accounts.get(result.username or "")
                if account is None or user not in (account.extension, account.username):
                    return 403, "Not the owner of this address", []
                return None
            stale = result.stale
        from callcore.switch.endpoint import md5_only

        challenges = md5_only(self.challenger.challenge(stale=stale), req, self.md5_only_agents)
        return (
            self.challenger.status,
            None,
            [(self.challenger.challenge_header, c) for c in challenges],
        )


def digest_uri_check(value: str, req: Request) -> str | None:
    """The Request-URI the digest ``uri`` must equal, or None when it names the same
    target in another spelling (pyVoIP 1.6.8 adds ``;transport=UDP``): the hash is
    still computed over the client's ``uri`` value, so nothing is weakened."""
    try:
        claimed = parse_credentials(value).get("uri") or ""
        if claimed != str(req.uri) and isinstance(req.uri, SipURI):
            other = parse_uri(claimed)
            if isinstance(other, SipURI) and other.without_params("transport").same_target(
                req.uri.without_params("transport")
            ):
                return None
    except (DigestParseError, SipParseError):
        pass
    return str(req.uri)


def _spec(addr) -> ContactSpec:
    expires = addr.param("expires")
    q = addr.param("q")
    reg_id = addr.param("reg-id")
    try:
        return ContactSpec(
            uri=str(addr.uri),
            expires=int(expires) if expires not in (None, "") else None,
            q=float(q) if q not in (None, "") else None,
            instance_id=addr.param("+sip.instance"),
            reg_id=int(reg_id) if reg_id not in (None, "") else None,
        )
    except ValueError:
        raise SipParseError("Bad Contact parameter") from None


__all__ = ["Registrar"]
