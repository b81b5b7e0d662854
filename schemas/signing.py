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

from schemas import codec
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
    """A key's name to read aloud: 24 digits (about 80 bits of SHA-256) in six groups
    of four, e.g. ``0417-2295-8830-1164-5092-7718``.

    Digits only: letters such as F, J, W, Z are not in the Vietnamese alphabet and are
    misheard on the phone. Each 4-byte word of the digest gives eight digits (mod 10^8:
    the bias, under 3 % on some values, costs nothing), so a shell can work it out with
    od and printf (docs/signing.md). Every surface shows a key through this function.
    """
    digest = hashlib.sha256(b"kiemphieu-key-v1" + public_raw).digest()[:12]
    words = (int.from_bytes(digest[i : i + 4], "big") % 10**8 for i in range(0, 12, 4))
    text = "".join(f"{w:08d}" for w in words)
    return "-".join(text[i : i + 4] for i in range(0, 24, 4))


def read_fingerprint(text: str) -> str:
    """A fingerprint as typed or read back (spaces, dots, dashes, or none): its digits,
    grouped as ``fingerprint`` writes them, to compare. Anything else is kept, so a
    wrong or old-style fingerprint still differs instead of matching by accident."""
    kept = "".join(c for c in text.strip().upper() if c not in " .-_\t")
    if not kept.isdigit() or len(kept) != 24:
        return text.strip().upper()
    return "-".join(kept[i : i + 4] for i in range(0, 24, 4))


# -- weak public keys ---------------------------------------------------------------------
#
# Ed25519 as OpenSSL verifies it accepts a signature when [S]B = R + [k]A. For a
# public key A of small order (one of the 8 torsion points) [k]A takes at most 8
# values whatever the message, so signatures verify that nobody's private key made:
# with A the identity, R = the identity and S = 0 verify for every message. Such a
# key, or one written non-canonically, is refused wherever a station key is taken.

_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_Y_MASK = (1 << 255) - 1

Point = tuple[int, int, int, int]
"""Extended homogeneous coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, xy = T/Z."""


def _recover_x(y: int, sign: int) -> int | None:
    """RFC 8032 5.1.3 step 2-4: the x of the point with this y and sign, or None when
    no point has this y. x = 0 is returned whatever the sign (the caller judges it)."""
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if (v * x * x - u) % _P != 0:
        if (v * x * x + u) % _P != 0:
            return None
        x = x * _SQRT_M1 % _P
    return _P - x if x and (x & 1) != sign else x


def _double(pt: Point) -> Point:
    """RFC 8032 5.1.4's addition of a point to itself."""
    x, y, z, t = pt
    a, b = (y - x) * (y - x) % _P, (y + x) * (y + x) % _P
    c, d = 2 * t * t * _D % _P, 2 * z * z % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def key_problem(raw: bytes) -> str | None:
    """Why these bytes are no usable Ed25519 public key, or None: "length",
    "small_order" (8·A is the identity: in any encoding, canonical or not),
    "non_canonical" (y ≥ p, or x = 0 with the sign bit set) or "not_on_curve".

    The reference, in pure Python (slow: a square root mod p), used at enrolment;
    ``weak_key`` is the fast check beside it, proven equal on every weak key."""
    if len(raw) != 32:
        return "length"
    n = int.from_bytes(raw, "little")
    sign, y = n >> 255, n & _Y_MASK
    x = _recover_x(y % _P, sign)
    if x is not None:
        pt: Point = (x, y % _P, 1, x * y % _P)
        for _ in range(3):
            pt = _double(pt)
        if pt[0] % _P == 0 and (pt[1] - pt[2]) % _P == 0:
            return "small_order"
    if y >= _P or (x == 0 and sign):
        return "non_canonical"
    return "not_on_curve" if x is None else None


SMALL_ORDER_Y = frozenset(
    {
        0,  # order 4 (x = ±sqrt(-1))
        1,  # the identity
        _P - 1,  # order 2
        # the two y of the four points of order 8
        0x05FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826,
        0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7,
    }
)
"""The y of the 8 points of small order (libsodium's blocklist, less its sign bit)."""


def weak_key(raw: bytes) -> str | None:
    """``key_problem`` for the keys that matter, quickly: "small_order" or
    "non_canonical" (a non-canonical key that is not of small order is one whose y
    is ≥ p: x = 0 happens only at small-order points). Not "not_on_curve": no
    signature verifies under bytes that are not a point."""
    if len(raw) != 32:
        return "length"
    y = int.from_bytes(raw, "little") & _Y_MASK
    if y % _P in SMALL_ORDER_Y:
        return "small_order"
    return "non_canonical" if y >= _P else None


WEAK_KEY_REASONS = {
    "small_order": (
        "a small-order point lets any signature verify",
        "một điểm có bậc nhỏ khiến chữ ký nào cũng hợp lệ",
    ),
    "non_canonical": (
        "the point is not written canonically (y ≥ p, or x = 0 with the sign bit set)",
        "điểm không được viết ở dạng chuẩn (y ≥ p, hoặc x = 0 mà bit dấu bằng 1)",
    ),
    "not_on_curve": (
        "the bytes are not a point of the Ed25519 curve",
        "các byte không phải một điểm của đường cong Ed25519",
    ),
    "length": ("an Ed25519 public key is 32 bytes", "khoá công khai Ed25519 phải dài 32 byte"),
}
"""Why a key is refused (``key_problem``'s answers), in English and Vietnamese."""


class WeakKeyError(KeyFileError):
    """A public key that must not be trusted with any signature."""

    code = "S320"


def weak_key_error(raw: bytes, reason: str, field: str = "public_key") -> WeakKeyError:
    """S320, naming the field and why; at enrolment unless ``field`` is the keyid of
    a batch signed with an enrolled weak key."""
    en, vi = WEAK_KEY_REASONS[reason]
    if field == "public_key":
        todo_en = "make a new key pair with the station client and enrol that; nothing was enrolled"
        todo_vi = "hãy tạo cặp khoá mới bằng phần mềm điểm gửi và đăng ký khoá đó; chưa đăng ký gì"
    else:
        todo_en = "no batch is accepted under it; revoke it and enrol a new key"
        todo_vi = "không lô nào được nhận theo khoá này; hãy thu hồi và đăng ký khoá mới"
    return WeakKeyError(
        en=f"Weak public key ({field}): {en}; {todo_en}.",
        vi=f"Khoá công khai yếu ({field}): {vi}; {todo_vi}.",
        fields=(field,),
        figures={"reason": reason, "public_key_hex": raw.hex()},
    )


@dataclass(frozen=True, slots=True)
class VerifyKey:
    raw: bytes

    @classmethod
    def checked(cls, raw: bytes, *, full: bool = False) -> VerifyKey:
        """The key, refused (``WeakKeyError``, S320) if ``weak_key`` finds it weak, or
        with ``full`` (enrolment) if ``key_problem`` finds anything at all."""
        reason = key_problem(raw) if full else weak_key(raw)
        if reason is not None:
            raise weak_key_error(raw, reason)
        return cls(raw)

    @classmethod
    def from_pem(cls, data: bytes) -> VerifyKey:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise KeyFileError(
                en=f"Not a PEM public key: {exc}", vi=f"Không phải khoá công khai PEM: {exc}"
            ) from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(
                en="The public key is not Ed25519.", vi="Khoá công khai không phải Ed25519."
            )
        return cls.checked(
            key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    @classmethod
    def from_text(cls, text: str) -> VerifyKey:
        """PEM, or the raw 32-byte key in base64 or hex; refused if weak (``checked``)."""
        text = text.strip()
        if text.startswith("-----BEGIN"):
            return cls.from_pem(text.encode("ascii"))
        for decode in (bytes.fromhex, _b64):
            try:
                raw = decode(text)
            except (ValueError, binascii.Error):
                continue
            if len(raw) == 32:
                return cls.checked(raw)
        raise KeyFileError(
            en="A public key must be PEM, or 32 bytes in base64 or hex.",
            vi="Khoá công khai phải ở dạng PEM, hoặc 32 byte base64 hay hex.",
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
                en=f"Cannot read the private key (wrong passphrase or not PEM): {exc}",
                vi=f"Không đọc được khoá bí mật (sai mật khẩu hoặc không phải PEM): {exc}",
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(
                en="The private key is not Ed25519.", vi="Khoá bí mật không phải Ed25519."
            )
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
                en="The signature does not match the payload and the enrolled key.",
                vi="Chữ ký không khớp với nội dung và khoá đã đăng ký.",
                code="S201",
                figures={"keyid": self.keyid},
            )


_envelope_decoder = msgspec.json.Decoder(Envelope, strict=True)


def read_envelope(data: bytes) -> Envelope:
    """The envelope's fields, not yet checked (see ``open_read``)."""
    try:
        return _envelope_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        codec.refuse_non_ijson(data, exc)
        raise DecodeError(
            en=f"Not a DSSE envelope: {exc}", vi=f"Không phải phong bì DSSE: {exc}"
        ) from exc


def open_envelope(data: bytes, expected_type: str, *, ijson: bool = True) -> Opened:
    """Parse the envelope only; the payload stays as the bytes that were signed.
    ``ijson=False`` only to read back what a ledger recorded as accepted."""
    return open_read(data, read_envelope(data), expected_type, ijson=ijson)


def open_read(data: bytes, envelope: Envelope, expected_type: str, *, ijson: bool = True) -> Opened:
    """``open_envelope`` of an envelope already read from ``data`` (the server reads
    the key id first, to refuse junk under an unknown key before any more work)."""
    if ijson:
        # Two "payload" keys would be two batches under one signature, for two readers.
        codec.check_ijson(data, envelope, numbers=False)  # strings only: no number decodes
    if envelope.payloadType != expected_type:
        raise SignatureError(
            en=f"Payload type {envelope.payloadType!r} where {expected_type!r} was expected.",
            vi=f"Loại nội dung {envelope.payloadType!r}, cần {expected_type!r}.",
            code="S202",
            fields=("payloadType",),
        )
    sig = envelope.signatures[0]
    try:
        payload = _b64(envelope.payload)
        signature = _b64(sig.sig)
    except (ValueError, binascii.Error) as exc:
        raise DecodeError(
            en=f"Envelope payload or signature is not base64: {exc}",
            vi=f"Nội dung hoặc chữ ký của phong bì không phải base64: {exc}",
        ) from exc
    if len(signature) != 64:
        raise SignatureError(
            en="An Ed25519 signature is 64 bytes.",
            vi="Chữ ký Ed25519 phải dài 64 byte.",
            code="S203",
        )
    return Opened(envelope.payloadType, payload, sig.keyid, signature)
