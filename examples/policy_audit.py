"""Relax the policy, weaken some sockets, and read what ``audit()`` says about it.

It shows:
1. the default policy: a plaintext bind on every interface is refused, and a loopback socket
   has nothing to report once its LINGER is bounded;
2. the same program under ``Policy.compatible()`` (libzmq's behaviour, what
   ``SAFEZMQ_POLICY=compatible`` selects): a plaintext bind on every interface is now allowed, a
   CURVE server without a ZAP handler lets anyone in, and every relaxation is a finding;
3. a secret key file that others can read: refused when loaded (KeyFilePermissionError) and
   reported by the audit;
4. using the findings as a deployment gate: fail if any is "high".

Nothing is sent anywhere: the plaintext socket bound on every interface in step 2 listens only
for the few milliseconds the audit takes, and no peer ever connects.

Run: ``python examples/policy_audit.py``
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import safezmq as zmq
from safezmq.auth import KeyFilePermissionError, create_certificates, load_certificate


def show(title: str, findings: list[zmq.Finding]) -> None:
    print(f"{title}: {len(findings)} finding(s)")
    for finding in findings:
        print(f"  {finding}")


def weak_sockets(ctx: zmq.Context, ipc_path: str) -> None:
    """Sockets configured the way many pyzmq programs are."""
    _, secret = zmq.curve_keypair()
    curve = ctx.socket(zmq.ROUTER)
    curve.curve_server = 1
    curve.curve_secretkey = secret
    curve.bind("tcp://127.0.0.1:*")  # CURVE, but nobody checks client keys

    plaintext = ctx.socket(zmq.PULL)
    plaintext.bind("tcp://0.0.0.0:*")  # NULL security on every interface

    forever = ctx.socket(zmq.PUSH)
    forever.linger = -1  # close() may wait forever
    forever.handshake_ivl = 0  # no handshake deadline
    forever.maxmsgsize = -1  # no message size limit
    forever.bind(f"ipc://{ipc_path}")


def main() -> int:
    base = tempfile.mkdtemp(prefix="audit-")
    try:
        print("1. the default policy")
        with zmq.Context(policy=zmq.Policy()) as ctx:  # the default (SAFEZMQ_POLICY unset)
            sock = ctx.socket(zmq.PULL)
            try:
                sock.bind("tcp://0.0.0.0:*")
            except zmq.ZMQError as exc:
                print(f"  bind tcp://0.0.0.0:* refused (errno {exc.errno}, EACCES)")
            sock.bind("tcp://127.0.0.1:*")
            show("  audit() with libzmq's default LINGER (-1)", ctx.audit())
            sock.linger = 1000
            show("  audit() with LINGER 1000 ms", ctx.audit())

        print("\n2. Policy.compatible() (= SAFEZMQ_POLICY=compatible)")
        ctx = zmq.Context(policy=zmq.Policy.compatible())
        try:
            weak_sockets(ctx, os.path.join(base, "socket"))
            findings = ctx.audit()
            show("  ctx.audit()", findings)
        finally:
            ctx.destroy(linger=0)

        print("\n3. a secret key file readable by others")
        _, secret_file = create_certificates(base, "service")
        os.chmod(secret_file, 0o644)  # a careless copy or chmod
        try:
            load_certificate(secret_file)
            print("  UNEXPECTED: the key was loaded")
            return 1
        except KeyFilePermissionError as exc:
            print(f"  load_certificate refused it: {exc}")
        with zmq.Context() as ctx:
            key_findings = [f for f in ctx.audit() if "secret key" in f.what]
            show("  audit() of any context", key_findings)

        print("\n4. a deployment gate")
        high = [f for f in findings if f.severity == "high"]
        print(f"  the compatible-policy program has {len(high)} high-severity finding(s):")
        print("  a gate such as `assert not high` would stop it before it ships")
        ok = bool(high) and bool(key_findings)
        print("policy audit OK" if ok else "policy audit FAILED")
        return 0 if ok else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
