"""The key that signs C2PA manifests: one the operator supplies (a PEM certificate chain and its private
key), or a local one generated on first use and kept in a data folder.

A generated key is an ECDSA P-256 end-entity certificate ("unclip signer") issued by a generated local CA
("unclip local CA"), both valid for 10 years, written with its private key to one file,
``<folder>/signing.pem`` (mode 0600), atomically. C2PA readers report manifests signed by it as valid
but not on their trust lists; an operator who wants trusted credentials supplies a certificate from a CA
that readers trust.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unclip.provenance.errors import ProvenanceError

GENERATED_FILE = "signing.pem"
VALID_DAYS = 3650


@dataclass(frozen=True)
class SigningKey:
    chain_pem: bytes  # the end-entity certificate first, then its issuers
    key_pem: bytes  # PKCS#8 PEM, unencrypted
    alg: str  # C2PA signing algorithm: es256, es384, es512, ps256, ed25519
    subject: str  # the certificate's common name, for messages
    source: str  # where it came from, for logs


def _crypto():  # type: ignore[no-untyped-def]
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    return x509, hashes, serialization, ec, ed25519, rsa


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ProvenanceError(f"{what} {path}: cannot read ({e.strerror or e})") from None


def _alg(private_key: object, where: str) -> str:
    _, _, _, ec, ed25519, rsa = _crypto()
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if private_key.curve.name not in algs:
            raise ProvenanceError(
                f"{where}: EC curve {private_key.curve.name} cannot sign C2PA manifests "
                "(use P-256, P-384 or P-521)"
            )
        return algs[private_key.curve.name]
    if isinstance(private_key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise ProvenanceError(
        f"{where}: a {type(private_key).__name__} cannot sign C2PA manifests "
        "(use an EC P-256/P-384/P-521, RSA or Ed25519 key)"
    )


def from_pem(cert_data: bytes, key_data: bytes, cert_where: str, key_where: str) -> SigningKey:
    """Check a certificate chain and a private key (PEM) and pair them; every problem is a ProvenanceError."""
    x509, _, serialization, *_ = _crypto()
    try:
        chain = x509.load_pem_x509_certificates(cert_data)
    except ValueError:
        raise ProvenanceError(
            f"{cert_where}: no PEM certificate found (expected '-----BEGIN CERTIFICATE-----')"
        ) from None
    try:
        private_key = serialization.load_pem_private_key(key_data, password=None)
    except TypeError:
        raise ProvenanceError(
            f"{key_where}: the private key is encrypted; give an unencrypted PEM key"
        ) from None
    except ValueError:
        raise ProvenanceError(
            f"{key_where}: no PEM private key found (expected '-----BEGIN PRIVATE KEY-----')"
        ) from None
    except Exception as e:  # noqa: BLE001 - cryptography raises UnsupportedAlgorithm and others
        raise ProvenanceError(f"{key_where}: cannot read the private key ({e})") from None
    alg = _alg(private_key, key_where)
    leaf = chain[0]
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if leaf.public_key().public_bytes(
        serialization.Encoding.DER, public
    ) != private_key.public_key().public_bytes(serialization.Encoding.DER, public):
        raise ProvenanceError(
            f"{key_where}: this private key does not belong to the first certificate in {cert_where}"
        )
    now = datetime.datetime.now(datetime.UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise ProvenanceError(
            f"{cert_where}: the certificate is not valid now (valid {leaf.not_valid_before_utc:%Y-%m-%d} "
            f"to {leaf.not_valid_after_utc:%Y-%m-%d})"
        )
    names = leaf.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    subject = str(names[0].value) if names else leaf.subject.rfc4514_string()
    chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    key_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    source = cert_where if cert_where == key_where else f"{cert_where} + {key_where}"
    return SigningKey(chain_pem, key_pem, alg, subject, source)


def load_key(cert_path: str | Path, key_path: str | Path | None = None) -> SigningKey:
    """An operator's key: a PEM certificate chain (end-entity first) and an unencrypted PEM private key,
    in two files or both in one (``key_path`` None)."""
    cert_path = Path(cert_path).expanduser()
    key_path = Path(key_path).expanduser() if key_path else cert_path
    return from_pem(
        _read(cert_path, "signing certificate"), _read(key_path, "signing key"), str(cert_path), str(key_path)
    )


def _generate() -> bytes:
    """A new local CA and end-entity certificate; returns key + chain as one PEM blob."""
    x509, hashes, serialization, ec, *_ = _crypto()
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=VALID_DAYS)

    def name(cn: str) -> Any:  # an x509.Name
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "unclip"),
            ]
        )

    def usage(sign: bool) -> Any:  # an x509.KeyUsage
        return x509.KeyUsage(
            digital_signature=sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=not sign,
            crl_sign=not sign,
            encipher_only=False,
            decipher_only=False,
        )

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("unclip local CA"))
        .issuer_name(name("unclip local CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("unclip signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return (
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + leaf.public_bytes(pem)
        + ca.public_bytes(pem)
    )


def local_key(folder: str | Path) -> SigningKey:
    """The key kept in ``folder/signing.pem``, generated there (atomically, mode 0600) on first use."""
    folder = Path(folder).expanduser()
    path = folder / GENERATED_FILE
    if not path.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".signing-", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:  # mkstemp's file is 0600
                f.write(_generate())
            os.replace(tmp, path)  # a concurrent first start: one complete file wins, never a mix
        except OSError as e:
            raise ProvenanceError(
                f"signing key folder {folder}: cannot write a new key ({e.strerror or e})"
            ) from None
    data = _read(path, "signing key file")
    return from_pem(data, data, str(path), str(path))


def default_folder() -> Path:
    """Where the CLI and the Python API keep their generated key: $UNCLIP_CACHE/provenance or
    ~/.cache/unclip/provenance."""
    return Path(os.environ.get("UNCLIP_CACHE", Path.home() / ".cache" / "unclip")) / "provenance"
