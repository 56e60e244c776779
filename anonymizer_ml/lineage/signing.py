"""Signed manifests: an in-toto Statement v1 in a DSSE envelope, signed with Ed25519.

The statement's subjects are the output files (name + SHA-256); its predicate is the run
manifest. The signing key is the keyset's ``sign`` key (its 32 random bytes are the Ed25519
seed); verifiers hold only public keys (``anonymizer keys export-public``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from anonymizer_ml.crypto.keyset import Key
from anonymizer_ml.errors import ManifestError

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://github.com/anonymizer/predicates/run/v1"
SIGN_PURPOSE = "sign"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def public_key_of(key: Key) -> str:
    """The base64 raw Ed25519 public key for a keyset ``sign`` key."""
    raw = Ed25519PrivateKey.from_private_bytes(key.material).public_key()
    return base64.b64encode(raw.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def sign_envelope(statement: dict[str, Any], key: Key) -> dict[str, Any]:
    """A DSSE envelope over the canonical JSON of ``statement``."""
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("utf-8")
    signature = Ed25519PrivateKey.from_private_bytes(key.material).sign(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [{"keyid": key.key_id, "sig": base64.b64encode(signature).decode("ascii")}],
    }


def envelope_payload(envelope: dict[str, Any]) -> bytes:
    """The envelope's payload bytes (not verified); ManifestError if malformed."""
    try:
        if envelope["payloadType"] != PAYLOAD_TYPE:
            raise ValueError
        return base64.b64decode(envelope["payload"], validate=True)
    except (KeyError, TypeError, ValueError):
        raise ManifestError("manifest envelope is malformed") from None


def verified_key_id(envelope: dict[str, Any], trusted: dict[str, str]) -> str:
    """The id of a trusted key whose signature over the payload verifies; ManifestError if none."""
    message = pae(PAYLOAD_TYPE, envelope_payload(envelope))
    for signature in envelope.get("signatures") or []:
        if not isinstance(signature, dict):
            continue
        public = trusted.get(str(signature.get("keyid")))
        if public is None:
            continue
        try:
            raw_key = base64.b64decode(public, validate=True)
            raw_sig = base64.b64decode(str(signature.get("sig")), validate=True)
            Ed25519PublicKey.from_public_bytes(raw_key).verify(raw_sig, message)
        except (InvalidSignature, ValueError):
            continue
        return str(signature["keyid"])
    raise ManifestError("manifest is not signed by a trusted key")
