"""Edge/IoT: a gateway with per-device CURVE keys, an allow-list, and per-device authorisation.

Each device has its own key pair.  The gateway knows the devices by their public keys
(the allow-list: a directory of public certificates, which the authenticator watches) and maps
each key to a device name, which the ZAP reply hands back as the connection's User-Id.  The
gateway then authorises every *message* by who sent it (``frame.get("User-Id")``): sensors may
report readings, only the controller may send commands.

It shows:
1. registered devices connect and are identified by name (sensor-42 stays connected);
2. an unknown device (a key pair not on the allow-list) is refused at the handshake;
3. a sensor that tries to send a command is authenticated but not authorised;
4. revocation at once: removing a device's certificate from the watched directory closes its
   live connection within a second (the gateway's monitor says why: HANDSHAKE_FAILED_AUTH with
   value 403, then DISCONNECTED), its automatic reconnection is refused, and the other devices
   keep talking.  No reload call, no unbind, no restart.

Run: ``python examples/iot_devices.py``
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

import safezmq as zmq
from safezmq.auth import create_certificates, load_certificate
from safezmq.auth.thread import ThreadAuthenticator
from safezmq.utils import z85
from safezmq.utils.monitor import recv_monitor_message

#: What each device may do (the application's authorisation table).
ROLES = {"sensor-17": {"reading"}, "sensor-42": {"reading"}, "controller": {"reading", "command"}}


class DeviceAuthenticator(ThreadAuthenticator):
    """Authenticates by key (the certificate directory) and names the device in User-Id."""

    def __init__(self, ctx: zmq.Context, names: dict[bytes, str]) -> None:
        super().__init__(ctx)
        self.names = names  # Z85 public key -> device name

    def curve_user_id(self, client_public_key: bytes) -> str:
        z85_key = z85.encode(client_public_key)
        return self.names.get(z85_key, "unnamed")


def provision(base: str) -> tuple[str, str, dict[str, str], dict[bytes, str]]:
    """Key pairs for the gateway and each device; the gateway's allow-list directory."""
    gateway_dir = os.path.join(base, "gateway")
    devices_dir = os.path.join(base, "devices")  # in real life: on each device
    allowed_dir = os.path.join(base, "allowed_devices")  # public keys only
    for directory in (gateway_dir, devices_dir, allowed_dir):
        os.mkdir(directory, 0o700)
    _, gateway_secret = create_certificates(gateway_dir, "gateway")
    secrets: dict[str, str] = {}
    names: dict[bytes, str] = {}
    for device in ROLES:
        public_file, secret_file = create_certificates(
            devices_dir, device, metadata={"device": device}
        )
        secrets[device] = secret_file
        public, _ = load_certificate(public_file)
        names[public] = device
        # Registration: the device's public certificate joins the gateway's allow-list.
        shutil.copy(public_file, allowed_dir)
    return gateway_secret, allowed_dir, secrets, names


def device_socket(
    ctx: zmq.Context, endpoint: str, gateway_public: bytes, keys: tuple[bytes, bytes | None]
) -> tuple[zmq.Socket, zmq.Socket]:
    """A device's DEALER (its key pair, the gateway's public key) and its monitor socket."""
    public, secret = keys
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    sock.curve_serverkey = gateway_public
    monitor = sock.get_monitor_socket()  # before connect(), so no event is missed
    sock.connect(endpoint)
    return sock, monitor


def next_auth_failure(monitor: zmq.Socket, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if monitor.poll(50):
            event = recv_monitor_message(monitor)
            if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                return int(event["value"])
    raise TimeoutError("no HANDSHAKE_FAILED_AUTH event")


def next_event(
    monitor: zmq.Socket, wanted: int, value: int | None = None, timeout: float = 5.0
) -> tuple[int, float]:
    """The value of the next ``wanted`` monitor event (with ``value``, if given; earlier ones
    are skipped), and when it came (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if monitor.poll(20):
            event = recv_monitor_message(monitor)
            if event["event"] == wanted and value in (None, event["value"]):
                return int(event["value"]), time.monotonic()
    raise TimeoutError(f"no monitor event {wanted:#x}")


def handle(gateway: zmq.Socket) -> tuple[str, str, str]:
    """Receive one message; return (device, kind, verdict) after authorising it."""
    envelope, kind, body = gateway.recv_multipart(copy=False)
    device = kind.get("User-Id")  # set by the authenticator, not by the device
    allowed = kind.bytes.decode() in ROLES.get(device, set())
    verdict = "accepted" if allowed else "REFUSED (not authorised)"
    gateway.send_multipart([envelope, b"ok" if allowed else b"forbidden"])
    return device, f"{kind.bytes.decode()} {body.bytes.decode()!r}", verdict


def main() -> int:
    base = tempfile.mkdtemp(prefix="iot-")
    ctx = zmq.Context()
    gateway_secret_file, allowed_dir, secrets, names = provision(base)
    print(f"provisioned {len(secrets)} devices, each with its own key pair")
    auth = DeviceAuthenticator(ctx, names)
    try:
        auth.start()
        # watch=True: certificates added or removed later take effect at once.
        auth.configure_curve(domain="*", location=allowed_dir, watch=True)

        gateway_public, gateway_secret = load_certificate(gateway_secret_file)
        gateway = ctx.socket(zmq.ROUTER)
        gateway.linger = 0
        gateway.rcvtimeo = 3000
        gateway.curve_server = 1
        gateway.curve_secretkey = gateway_secret
        monitor = gateway.get_monitor_socket()
        gateway.bind("tcp://127.0.0.1:*")
        endpoint = gateway.last_endpoint.decode()

        print("1. registered devices")
        sensor, _ = device_socket(
            ctx, endpoint, gateway_public, load_certificate(secrets["sensor-17"])
        )
        controller, _ = device_socket(
            ctx, endpoint, gateway_public, load_certificate(secrets["controller"])
        )
        sensor.send_multipart([b"reading", b"21.5 C"])
        print("   {}: {} -> {}".format(*handle(gateway)))
        controller.send_multipart([b"command", b"open valve 3"])
        print("   {}: {} -> {}".format(*handle(gateway)))
        other, other_monitor = device_socket(
            ctx, endpoint, gateway_public, load_certificate(secrets["sensor-42"])
        )
        other.send_multipart([b"reading", b"18.0 C"])
        print("   {}: {} -> {}".format(*handle(gateway)))

        print("2. an unknown device (its key is not on the allow-list)")
        stranger, _ = device_socket(ctx, endpoint, gateway_public, zmq.curve_keypair())
        stranger.send_multipart([b"reading", b"99 C"])
        status = next_auth_failure(monitor)
        print(f"   refused at the handshake: HANDSHAKE_FAILED_AUTH, ZAP status {status}")
        if gateway.poll(300):
            print("   UNEXPECTED: the unknown device's message arrived")
            return 1
        stranger.close()  # it would keep retrying (and being refused) every RECONNECT_IVL

        print("3. a sensor sends a command")
        sensor.send_multipart([b"command", b"open valve 3"])
        device, what, verdict = handle(gateway)
        print(f"   {device}: {what} -> {verdict}")
        if verdict == "accepted":
            return 1

        print("4. sensor-42 is revoked while connected: its certificate leaves the allow-list")
        removed = time.monotonic()
        os.remove(os.path.join(allowed_dir, "sensor-42.key"))  # nothing else to do
        # 403: safezmq's value for "authenticated, then revoked" (a refused handshake is 400).
        status, closed = next_event(monitor, zmq.EVENT_HANDSHAKE_FAILED_AUTH, 403)
        print(
            f"   the gateway closed its live connection {closed - removed:.2f}s later "
            f"(HANDSHAKE_FAILED_AUTH {status}: revoked)"
        )
        if closed - removed > 1.0:
            return 1
        next_event(other_monitor, zmq.EVENT_DISCONNECTED)
        status = next_auth_failure(other_monitor)  # it reconnects by itself...
        print(f"   sensor-42 reconnects and is refused: HANDSHAKE_FAILED_AUTH, ZAP status {status}")
        other.send_multipart([b"reading", b"19.0 C"])
        if gateway.poll(300):
            print("   UNEXPECTED: the revoked device's message arrived")
            return 1
        other.close()
        sensor.send_multipart([b"reading", b"21.7 C"])
        print("   sensor-17 is untouched: {}: {} -> {}".format(*handle(gateway)))

        print("iot OK: devices identified by key, unknown devices refused, revocation at once")
        return 0
    finally:
        auth.stop()
        ctx.destroy(linger=0)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
