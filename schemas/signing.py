"""Ed25519 signatures over exact bytes, in DSSE envelopes.

What is signed is the DSSE pre-authentication encoding

    PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body

so the payload type (which names the document and its version) is bound into
every signature, and a signature made for one purpose cannot be replayed as
another. The payload travels base64-encoded, so the bytes that were signed
are exactly the bytes that are verified, then parsed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.errors import DecodeError, KeyFileError, SignatureError
from schemas.models import Envelope, EnvelopeSignature

BATCH_TYPE = "application/vnd.kiemphieu.batch.v1+json"
RECEIPT_TYPE = "application/vnd.kiemphieu.receipt.v1+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint(public_raw: bytes) -> str:
    """A key's name to read aloud: 80 bits of SHA-256 in base32, four groups of four."""
    digest = hashlib.sha256(b"kiemphieu-key-v1" + public_raw).digest()[:10]
    text = base64.b32encode(digest).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True, slots=True)
class VerifyKey:
    raw: bytes

    @classmethod
    def from_pem(cls, data: bytes) -> VerifyKey:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise KeyFileError(
                f"Not a PEM public key: {exc}", f"Không phải khoá công khai PEM: {exc}"
            ) from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(
                "The public key is not Ed25519.", "Khoá công khai không phải Ed25519."
            )
        return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @classmethod
    def from_text(cls, text: str) -> VerifyKey:
        """PEM, or the raw 32-byte key in base64 or hex."""
        text = text.strip()
        if text.startswith("-----BEGIN"):
            return cls.from_pem(text.encode("ascii"))
        for decode in (bytes.fromhex, _b64):
            try:
                raw = decode(text)
            except (ValueError, binascii.Error):
                continue
            if len(raw) == 32:
                return cls(raw)
        raise KeyFileError(
            "A public key must be PEM, or 32 bytes in base64 or hex.",
            "Khoá công khai phải ở dạng PEM, hoặc 32 byte base64 hay hex.",
        )

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)

    @property
    def b64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    def pem(self) -> bytes:
        return Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class SigningKey:
    __slots__ = ("_key", "public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public = VerifyKey(raw)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_pem(cls, data: bytes, passphrase: bytes | None = None) -> SigningKey:
        try:
            key = serialization.load_pem_private_key(data, password=passphrase)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(
                f"Cannot read the private key (wrong passphrase or not PEM): {exc}",
                f"Không đọc được khoá bí mật (sai mật khẩu hoặc không phải PEM): {exc}",
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError("The private key is not Ed25519.", "Khoá bí mật không phải Ed25519.")
        return cls(key)

    @classmethod
    def load(cls, path: Path, passphrase: bytes | None = None) -> SigningKey:
        return cls.from_pem(path.read_bytes(), passphrase)

    def pem(self, passphrase: bytes | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def save(self, path: Path, passphrase: bytes | None = None) -> None:
        """Write the key readable by its owner only (created 0600, never widened)."""
        import os

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self.pem(passphrase))

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


_envelope_encoder = msgspec.json.Encoder()


def seal(key: SigningKey, payload_type: str, payload: bytes) -> bytes:
    """Sign ``payload`` and wrap it in a DSSE envelope (JSON bytes)."""
    signature = key.sign(pae(payload_type, payload))
    envelope = Envelope(
        payloadType=payload_type,
        payload=base64.b64encode(payload).decode("ascii"),
        signatures=[
            EnvelopeSignature(
                keyid=key.public.fingerprint, sig=base64.b64encode(signature).decode("ascii")
            )
        ],
    )
    return _envelope_encoder.encode(envelope)


@dataclass(frozen=True, slots=True)
class Opened:
    """An envelope taken apart, not yet verified."""

    payload_type: str
    payload: bytes
    keyid: str
    signature: bytes

    @property
    def digest(self) -> str:
        """The batch's identity: SHA-256 of the exact payload bytes."""
        return sha256_hex(self.payload)

    def verify(self, key: VerifyKey) -> None:
        if not key.verify(self.signature, pae(self.payload_type, self.payload)):
            raise SignatureError(
                "The signature does not match the payload and the enrolled key.",
                "Chữ ký không khớp với nội dung và khoá đã đăng ký.",
                code="S201",
                figures={"keyid": self.keyid},
            )


_envelope_decoder = msgspec.json.Decoder(Envelope, strict=True)


def open_envelope(data: bytes, expected_type: str) -> Opened:
    """Parse the envelope only; the payload stays as the bytes that were signed."""
    try:
        envelope = _envelope_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DecodeError(
            f"Not a DSSE envelope: {exc}", f"Không phải phong bì DSSE: {exc}"
        ) from exc
    if envelope.payloadType != expected_type:
        raise SignatureError(
            f"Payload type {envelope.payloadType!r} where {expected_type!r} was expected.",
            f"Loại nội dung {envelope.payloadType!r}, cần {expected_type!r}.",
            code="S202",
            fields=("payloadType",),
        )
    sig = envelope.signatures[0]
    try:
        payload = _b64(envelope.payload)
        signature = _b64(sig.sig)
    except (ValueError, binascii.Error) as exc:
        raise DecodeError(
            f"Envelope payload or signature is not base64: {exc}",
            f"Nội dung hoặc chữ ký của phong bì không phải base64: {exc}",
        ) from exc
    if len(signature) != 64:
        raise SignatureError(
            "An Ed25519 signature is 64 bytes.", "Chữ ký Ed25519 phải dài 64 byte.", code="S203"
        )
    return Opened(envelope.payloadType, payload, sig.keyid, signature)
