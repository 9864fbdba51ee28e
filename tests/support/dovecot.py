"""A throw-away Dovecot IMAP server for tests: own config, users and maildir in a folder.

It never touches the system daemon: it listens on 127.0.0.1 on a free port, runs its
processes as the current user, and keeps its sockets, state, log and mail under
``root``.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

USER = "ops"
PASSWORD = "qanat-test-password"


class DovecotMissing(RuntimeError):
    """Dovecot is not installed (or would not start) on this machine."""


@dataclass
class Dovecot:
    """A running test Dovecot and how to reach it."""

    host: str
    port: int
    username: str
    password: str
    root: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop the server, wait for it to go, and remove its folder."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        """The server's log, for failure messages."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _binary() -> str:
    # QANAT_DOVECOT_BINARY points at another build (or, unset, the installed one).
    wanted = os.environ.get("QANAT_DOVECOT_BINARY")
    candidates = [wanted] if wanted else [shutil.which("dovecot"), "/usr/sbin/dovecot"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise DovecotMissing(
        f"dovecot is not installed at {wanted or 'PATH or /usr/sbin/dovecot'} "
        "(Debian: apt-get install dovecot-imapd)"
    )


def _version(binary: str) -> tuple[int, ...]:
    output = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    return tuple(int(part) for part in output.stdout.split()[0].split(".")[:2])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _service_users() -> tuple[str, str, str]:
    """Internal user, its group, and login user: the current user, except as root.

    Dovecot refuses to run its login processes as root, so when the tests run as root
    they use the unprivileged users the Debian package creates (or nobody).
    """
    if os.getuid() != 0:
        user = pwd.getpwuid(os.getuid()).pw_name
        return user, grp.getgrgid(os.getgid()).gr_name, user
    internal = _existing_user("dovecot")
    return internal, grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name, _existing_user("dovenull")


def _mail_user() -> pwd.struct_passwd:
    # Dovecot will not open mailboxes as root either.
    return pwd.getpwuid(os.getuid()) if os.getuid() != 0 else pwd.getpwnam("nobody")


def _existing_user(name: str) -> str:
    try:
        pwd.getpwnam(name)
        return name
    except KeyError:
        return "nobody"


def _config(root: Path, port: int, version: tuple[int, ...]) -> str:
    user, group, login_user = _service_users()
    mail = _mail_user()
    # Chroot needs root; an unprivileged server runs its login processes without one.
    chroot = "" if os.getuid() != 0 else "login"
    cleartext = "auth_allow_cleartext = yes" if version >= (2, 4) else "disable_plaintext_auth = no"
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
{cleartext}
auth_mechanisms = plain login
# A test logs in with a wrong password on purpose: no delays or penalties after it.
auth_failure_delay = 0
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot = {chroot and "empty"}
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot = {chroot}
}}
service auth {{
  user = {"root" if os.getuid() == 0 else "$default_internal_user"}
}}
"""


def _server_folder(root: Path) -> Path:
    # As root, Dovecot's unprivileged processes must reach the folder, and pytest's
    # temporary folders are private to their owner: use a traversable one in /tmp.
    if os.getuid() != 0:
        return root
    folder = Path(tempfile.mkdtemp(prefix="qanat-dovecot-"))
    folder.chmod(0o755)
    return folder


def start_dovecot(root: Path, *, timeout: float = 15.0) -> Dovecot:
    """Write a config under ``root``, start Dovecot in the foreground, wait for IMAP."""
    binary = _binary()
    root = _server_folder(root)
    mail = _mail_user()
    for folder in ("run", "state", "mail", "home"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for folder in ("mail", "home"):
        os.chown(root / folder, mail.pw_uid, mail.pw_gid)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(_config(root, port, _version(binary)))
    # Its own output goes to a file: a pipe nobody reads could fill up and stall it.
    with (root / "console.log").open("wb") as console:
        process = subprocess.Popen(
            [binary, "-F", "-c", str(config)], stdout=console, stderr=subprocess.STDOUT
        )
    server = Dovecot("127.0.0.1", port, USER, PASSWORD, root, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = (root / "console.log").read_text(errors="replace")
            raise DovecotMissing(f"dovecot exited at start: {output} {server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                if connection.recv(200).startswith(b"* OK"):
                    return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise DovecotMissing(f"dovecot did not answer on 127.0.0.1:{port}: {server.log()}")
