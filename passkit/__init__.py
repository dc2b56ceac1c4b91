"""The one-code kit for park gates: no Django, nothing of OneGrid's.

An employee's phone holds a device key and a **credential**: a CWT the park signs once (who, which park, until
when, what they may pass, the credential's id, and the device's public key as its confirmation claim ``cnf``,
RFC 8747).  Every ``step`` seconds (30 by default, RFC 6238's time step) the phone makes a new **pass code**: a
COSE_Sign1 signed by the device key over the step's number, carrying the credential in its protected header
(``kcwt``, RFC 9528).  A gate that holds the park's public key, its own rule and a revocation list verifies it
offline::

    gate = GateVerifier(park="software-park", keys=TrustList.from_jwks(park_jwks), revoked=revoked_ids)
    verdict = gate.verify(scanned_text, gate=GateRule(code="A-door", kind="building", building="A"),
                          direction="in")
    if verdict.ok: ...

One step of clock drift either way is accepted (and said); two are refused.  A code is accepted at most once per
gate and direction within its step, so a screenshot replayed at the same door, or later, fails.  The park's
signature on a credential is checked once per gate and remembered; each scan checks the device's signature.
Who may pass where and when is ``passkit.rules``, the same at the server.  ``passkit.sync`` is what gates and
OneGrid exchange; ``passkit.gate`` the gate process itself.
"""

from passkit.codes import (
    DEFAULT_STEP_SECONDS,
    DIRECTIONS,
    PASS_PREFIX,
    GateVerifier,
    PassVerdict,
    credential_issue,
    pass_code,
)
from passkit.rules import Access, GateKind, GateRule, Role, Window, access_refusal

__all__ = ["DEFAULT_STEP_SECONDS", "DIRECTIONS", "PASS_PREFIX", "Access", "GateKind", "GateRule", "GateVerifier",
           "PassVerdict", "Role", "Window", "access_refusal", "credential_issue", "pass_code"]
