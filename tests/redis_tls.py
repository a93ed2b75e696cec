"""A throwaway certificate authority and a server certificate for a test redis-server's TLS port.

Made with the `openssl` command when it is on PATH, else with the `cryptography` package when it
is importable; `TlsUnavailable` says neither is there. Keys are P-256 (fast to make), valid for a
day, for the names `localhost` and `127.0.0.1`.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TlsFiles", "TlsUnavailable", "make_certificates"]


class TlsUnavailable(RuntimeError):
    """Neither the openssl command nor the cryptography package can make a certificate."""


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the authority's certificate: what a client trusts
    cert: Path  # the server's certificate, signed by the authority
    key: Path  # the server's private key
    tool: str  # "openssl" or "cryptography": what made them


def make_certificates(directory: Path, prefer: str = "openssl") -> TlsFiles:
    """Write ca.crt, server.crt and server.key into `directory`."""
    makers = {"openssl": _with_openssl, "cryptography": _with_cryptography}
    order = [prefer, *(name for name in makers if name != prefer)]
    for name in order:
        files = makers[name](directory)
        if files is not None:
            return files
    raise TlsUnavailable(
        "no way to make a test certificate: "
        "install the openssl command or `pip install cryptography`"
    )


def _with_openssl(directory: Path) -> TlsFiles | None:
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    ca, ca_key = directory / "ca.crt", directory / "ca.key"
    cert, key, csr = directory / "server.crt", directory / "server.key", directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        ["req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "1", "-subj", "/CN=test-ca"],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial"]
        + ["-out", cert, "-days", "1", "-extfile", ext],
    ]
    for step in steps:
        subprocess.run([openssl, *map(str, step)], check=True, capture_output=True, timeout=30)
    return TlsFiles(ca, cert, key, "openssl")


def _with_cryptography(directory: Path) -> TlsFiles | None:
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        return None
    import datetime as dt
    import ipaddress

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def signed(builder: x509.CertificateBuilder, signer) -> x509.Certificate:
        builder = builder.serial_number(x509.random_serial_number())
        builder = builder.not_valid_before(now - dt.timedelta(minutes=5))
        return builder.not_valid_after(now + dt.timedelta(days=1)).sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = signed(
        x509.CertificateBuilder()
        .subject_name(name("test-ca"))
        .issuer_name(name("test-ca"))
        .public_key(ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True),
        ca_key,
    )
    alt = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = signed(
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .add_extension(x509.SubjectAlternativeName(alt), critical=False),
        ca_key,
    )
    files = TlsFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key", "")
    pem = serialization.Encoding.PEM
    files.ca.write_bytes(ca_cert.public_bytes(pem))
    files.cert.write_bytes(cert.public_bytes(pem))
    files.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return TlsFiles(files.ca, files.cert, files.key, "cryptography")
