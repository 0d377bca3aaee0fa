"""The SSH gateway (issue 17) against OpenSSH's own sshd on the same machine, in the same run,
with the same OpenSSH client and options (scripts/bench ssh starts a release build of the
example server and installs openssh-server when it is missing):

- connect to prompt: from spawning `ssh -tt` on a pty to bash's first prompt; and the wall
  time of `ssh host -- true`;
- keystroke to echo in one interactive session: p99 <= 5 ms for the gateway;
- scp of 100 MB up and down, checksums verified: the gateway >= 70 % of sshd;
- memory per idle interactive session: the server side and the environment side apart.

The baseline is /usr/sbin/sshd -D on a free loopback port with its own host key and
configuration (public key only, no PAM, `Subsystem sftp /usr/lib/openssh/sftp-server`, the
same sftp-server binary the environment's image has). It logs in a throwaway user,
`vibebox-bench`, with bash and Debian's /etc/skel dotfiles in a temporary home, as the
environment's user `vibebox` has: root's own dotfiles on a developer machine (pyenv, cargo)
would time themselves, not sshd. The user is removed afterwards. Samples alternate between the
two targets so that load on the host falls on both alike.

Reads VIBEBOX_URL (the server's base URL), VIBEBOX_SSH_PORT (its gateway), VIBEBOX_SERVER_PID
and VIBEBOX_INSTANCE (its containers' vibebox.instance label). VIBEBOX_BENCH_QUICK=1 takes few
samples. Prints Markdown for BENCHMARKS.md; exits nonzero when setup fails, not when a budget
is missed.
"""

import fcntl
import hashlib
import json
import os
import platform
import re
import select
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import urllib.error
import urllib.request

QUICK = os.environ.get("VIBEBOX_BENCH_QUICK", "") not in ("", "0")
CONNECTS = 5 if QUICK else 30
KEYS = 50 if QUICK else 500
KEY_SPACING = 0.005
SCP_BYTES = (10 if QUICK else 100) * 1000 * 1000
SCP_RUNS = 3 if QUICK else 5
IDLE_SESSIONS = 5 if QUICK else 20
PASSWORD = "correct-horse-battery-staple-9"
PROMPT = re.compile(rb"[$#] $")
SAME_KEX = "curve25519-sha256"

URL = os.environ.get("VIBEBOX_URL", "").rstrip("/")
GATEWAY_PORT = int(os.environ.get("VIBEBOX_SSH_PORT", "0"))
SERVER_PID = int(os.environ.get("VIBEBOX_SERVER_PID", "0"))
INSTANCE = os.environ.get("VIBEBOX_INSTANCE", "")


def log(*args):
    print("==>", *args, file=sys.stderr, flush=True)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# --- the server's HTTP API -------------------------------------------------------------------


def api(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(URL + "/api/v1" + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raise SystemExit(f"error: {method} {path}: {e.code} {e.read().decode(errors='replace')}") from None


def environment(public_key):
    """Signs up, registers the key, and runs project `bench`'s environment `dev`; returns the
    gateway's username and the environment's container id."""
    email = "bench@example.com"
    api("POST", "/auth/register", {"email": email, "password": PASSWORD, "display_name": "Bencher"})
    token = api("POST", "/auth/login", {"email": email, "password": PASSWORD})["access_token"]
    api("POST", "/users/me/ssh-keys", {"name": "bench", "public_key": public_key}, token)
    team = api("POST", "/teams", {"name": "Bench", "slug": "bench"}, token)
    project = api("POST", "/projects", {"name": "Bench", "slug": "bench", "team_id": team["id"]}, token)
    env = api("POST", "/environments", {
        "project_id": project["id"], "name": "dev", "slug": "dev", "base_image": "vibebox/base:bookworm",
    }, token)
    api("POST", f"/environments/{env['id']}/start", None, token)
    deadline = time.monotonic() + 180
    while api("GET", f"/environments/{env['id']}", None, token)["status"] != "running":
        if time.monotonic() > deadline:
            raise SystemExit("error: the environment did not start within 180 s")
        time.sleep(0.2)
    ids = subprocess.run(
        ["docker", "ps", "-q", "--no-trunc", "--filter", f"label=vibebox.instance={INSTANCE}"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    if len(ids) != 1:
        raise SystemExit(f"error: expected one running container of instance {INSTANCE}, found {ids}")
    return "bench.dev", ids[0]


# --- the baseline sshd -----------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"error: {what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"error: {what} is not listening on port {port}")


BENCH_USER = "vibebox-bench"


def add_user(work):
    """The baseline's login: bash, /etc/skel's dotfiles, a home in `work`."""
    remove_user()
    os.chmod(work, 0o711)
    home = os.path.join(work, "home")
    subprocess.run(
        ["useradd", "--create-home", "--home-dir", home, "--skel", "/etc/skel", "--shell", "/bin/bash",
         # `*`, not useradd's `!`: without PAM, sshd refuses an account whose password is `!…`
         # (locked) even for a key.
         "--password", "*",
         "--user-group", BENCH_USER],
        check=True,
    )
    return home


def remove_user():
    if subprocess.run(["id", BENCH_USER], capture_output=True).returncode == 0:
        subprocess.run(["userdel", BENCH_USER], check=True)


def start_sshd(work, public_key):
    """/usr/sbin/sshd -D on a free loopback port, configured from scratch in `work`."""
    host_key = os.path.join(work, "host_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host_key], check=True)
    authorized = os.path.join(work, "authorized_keys")
    with open(authorized, "w") as f:
        f.write(public_key + "\n")
    # sshd reads it as the user.
    os.chmod(authorized, 0o644)
    port = free_port()
    config = os.path.join(work, "sshd_config")
    with open(config, "w") as f:
        f.write(f"""# The benchmark's baseline (benches/ssh.py): nothing read from /etc/ssh.
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {work}/sshd.pid
AuthorizedKeysFile {authorized}
# The key files live under /tmp, which is world-writable; StrictModes would refuse them.
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
PrintLastLog no
Subsystem sftp /usr/lib/openssh/sftp-server
""")
    # Privilege separation's chroot.
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    check = subprocess.run(["/usr/sbin/sshd", "-t", "-f", config], capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(f"error: sshd -t: {check.stderr.strip()}")
    errlog = open(os.path.join(work, "sshd.log"), "w")
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", config], stdout=errlog, stderr=errlog)
    wait_port(port, proc, "sshd")
    return proc, port


# --- driving the OpenSSH client --------------------------------------------------------------


class Target:
    def __init__(self, name, port, user, key, kex=None):
        self.name = name
        self.port = port
        self.user = user
        self.opts = [
            "-F", "none",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes",
            "-o", "LogLevel=ERROR",
            "-i", key,
        ]
        if kex:
            self.opts += ["-o", f"KexAlgorithms={kex}"]

    def ssh(self, *args, command=()):
        return ["ssh", "-p", str(self.port), *self.opts, *args, f"{self.user}@127.0.0.1", *command]

    def scp(self, *args):
        return ["scp", "-P", str(self.port), *self.opts, *args]

    def remote(self, path):
        return f"{self.user}@127.0.0.1:{path}"

    def run(self, command):
        out = subprocess.run(self.ssh(command=("--", command)), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise SystemExit(f"error: {self.name}: ssh -- {command}: exit {out.returncode}: {out.stderr.strip()}")
        return out.stdout


def _controlling_tty():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Session:
    """`ssh -tt` on a pty of its own (120x40), as a person's terminal would run it."""

    def __init__(self, argv):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = dict(os.environ, TERM="xterm")
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env,
            preexec_fn=_controlling_tty, close_fds=True,
        )
        os.close(slave)
        self.seen = b""

    def read(self, timeout):
        """What arrives within `timeout` seconds (b"" if nothing)."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        if not data:
            raise SystemExit(f"error: the session ended: {self.seen[-400:]!r}")
        self.seen += data
        return data

    def prompt(self, timeout=60):
        """Waits for bash's prompt (output ending in `$ ` or `# `)."""
        deadline = time.monotonic() + timeout
        tail = b""
        while time.monotonic() < deadline:
            tail = (tail + self.read(deadline - time.monotonic()))[-64:]
            if PROMPT.search(tail):
                return
        raise SystemExit(f"error: no prompt within {timeout} s: {self.seen[-400:]!r}")

    def drain(self, quiet=0.1):
        while self.read(quiet):
            pass

    def raw(self):
        """Whether ssh has put the local pty in raw mode (else the line discipline would echo
        our keys itself)."""
        return not termios.tcgetattr(self.master)[3] & termios.ECHO

    def close(self):
        try:
            os.write(self.master, b"\x15exit\r")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


# --- what is measured ------------------------------------------------------------------------


def connect_to_prompt(t):
    start = time.perf_counter()
    s = Session(t.ssh("-tt"))
    s.prompt()
    elapsed = (time.perf_counter() - start) * 1000
    s.close()
    return elapsed


def true_wall(t):
    start = time.perf_counter()
    out = subprocess.run(t.ssh(command=("--", "true")), stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    elapsed = (time.perf_counter() - start) * 1000
    if out.returncode != 0:
        raise SystemExit(f"error: {t.name}: ssh -- true: exit {out.returncode}: {out.stderr!r}")
    return elapsed


def echo_block(s, n, start):
    """Types `n` letters one at a time into a session at its prompt; the milliseconds until
    each is echoed. The line is cleared (Ctrl-U) every 30 letters, and the output drained, so
    that it never wraps."""
    letters = b"abcdefghijklmnopqrstuvwxyz"
    times = []
    for i in range(start, start + n):
        if i % 30 == 0:
            os.write(s.master, b"\x15")
            s.drain()
        key = letters[i % len(letters):][:1]
        t0 = time.perf_counter()
        os.write(s.master, key)
        got = b""
        while key not in got:
            got += s.read(5)
            if time.perf_counter() - t0 > 5:
                raise SystemExit(f"error: no echo of {key!r} within 5 s: {s.seen[-200:]!r}")
        times.append((time.perf_counter() - t0) * 1000)
        s.drain(KEY_SPACING)
    return times


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def scp_round(t, local, digest, remote_dir, work):
    """One upload and one download of `local`; MB/s of each, checksums checked both ways."""
    remote = f"{remote_dir}/vibebox-bench-{os.getpid()}"
    start = time.perf_counter()
    subprocess.run(t.scp(local, t.remote(remote)), check=True, capture_output=True, timeout=600)
    up = SCP_BYTES / (time.perf_counter() - start) / 1e6
    there = t.run(f"sha256sum {remote}").split()[0]
    if there != digest:
        raise SystemExit(f"error: {t.name}: the uploaded file's checksum differs")
    back = os.path.join(work, "download")
    start = time.perf_counter()
    subprocess.run(t.scp(t.remote(remote), back), check=True, capture_output=True, timeout=600)
    down = SCP_BYTES / (time.perf_counter() - start) / 1e6
    if sha256_file(back) != digest:
        raise SystemExit(f"error: {t.name}: the downloaded file's checksum differs")
    os.unlink(back)
    t.run(f"rm -f {remote}")
    return up, down


def negotiated(t):
    """The key exchange, host key and cipher `ssh -v` reports."""
    out = subprocess.run(t.ssh("-v", command=("--", "true")), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    found = {}
    for line in out.stderr.splitlines():
        m = re.search(r"kex: algorithm: (\S+)", line)
        if m:
            found["kex"] = m.group(1)
        m = re.search(r"kex: host key algorithm: (\S+)", line)
        if m:
            found["host key"] = m.group(1)
        m = re.search(r"kex: server->client cipher: (\S+) MAC: (\S+)", line)
        if m:
            found["cipher"] = m.group(1) + ("" if m.group(2) == "<implicit>" else f" + {m.group(2)}")
    return found


def scp_protocol(t, small):
    """Whether scp speaks SFTP (OpenSSH 9's default) to this target."""
    out = subprocess.run(
        t.scp("-v", small, t.remote("/dev/null")), capture_output=True, text=True, timeout=120,
    )
    return "sftp" if "Sending subsystem: sftp" in out.stderr else "scp (rcp)"


# --- memory ----------------------------------------------------------------------------------


def proc_kib(pid):
    """VmRSS and Pss of a process, in KiB (0, 0 if it is gone)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def processes():
    """pid -> (ppid, name) for every process on the host."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        table[int(entry)] = (ppid, name)
    return table


def descendants(root):
    table = processes()
    found, todo = set(), [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, _) in table.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                todo.append(pid)
    return found


def container_pids(container):
    out = subprocess.run(["docker", "top", container, "-eo", "pid"], check=True, capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()[1:]}


def engine_pids(container):
    """dockerd, containerd and the container's shim: where the engine keeps an exec's state."""
    found = set()
    for pid, (_, name) in processes().items():
        if name in ("dockerd", "containerd"):
            found.add(pid)
        elif name.startswith("containerd-shim"):
            try:
                with open(f"/proc/{pid}/cmdline") as f:
                    if container in f.read():
                        found.add(pid)
            except OSError:
                pass
    return found


def total(pids, only=None):
    """Summed VmRSS and Pss (KiB) of `pids` (those named `only`, if given), and how many of
    each name."""
    rss = pss = 0
    names = {}
    table = processes()
    for pid in pids:
        if only is not None and table.get(pid, (0, "?"))[1] != only:
            continue
        r, p = proc_kib(pid)
        rss += r
        pss += p
        name = table.get(pid, (0, "?"))[1]
        names[name] = names.get(name, 0) + 1
    return rss, pss, names


def idle_sessions(t, n):
    sessions = []
    for _ in range(n):
        s = Session(t.ssh("-tt"))
        s.prompt()
        sessions.append(s)
    time.sleep(2)
    for s in sessions:
        s.drain(0.01)
    return sessions


def memory_sshd(t, sshd_pid, n):
    before = descendants(sshd_pid)
    listener_before = proc_kib(sshd_pid)
    sessions = idle_sessions(t, n)
    new = descendants(sshd_pid) - before
    listener_after = proc_kib(sshd_pid)
    monitors = total(new, "sshd")
    shells = total(new, "bash")
    others = total(new)
    for s in sessions:
        s.close()
    # The listener's own Pss falls as its pages are shared with more children: counted, so
    # that the sum is what the sessions added.
    return {
        "server": ((listener_after[0] - listener_before[0] + monitors[0]) / n,
                   (listener_after[1] - listener_before[1] + monitors[1]) / n),
        "server names": monitors[2],
        "env": (shells[0] / n, shells[1] / n),
        "names": shells[2],
        "all names": others[2],
    }


def memory_gateway(t, container, n):
    in_env_before = container_pids(container)
    engine = engine_pids(container)
    engine_before = total(engine)
    server_before = proc_kib(SERVER_PID)
    sessions = idle_sessions(t, n)
    server_after = proc_kib(SERVER_PID)
    engine_after = total(engine)
    new = container_pids(container) - in_env_before
    rss, pss, names = total(new)
    for s in sessions:
        s.close()
    return {
        "server": ((server_after[0] - server_before[0]) / n, (server_after[1] - server_before[1]) / n),
        "server names": {"vibebox server (delta)": n},
        "env": (rss / n, pss / n),
        "all names": names,
        "engine": ((engine_after[0] - engine_before[0]) / n, (engine_after[1] - engine_before[1]) / n),
        "names": names,
    }


# --- the machine -----------------------------------------------------------------------------


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    docker = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True).stdout.strip()
    openssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_kib / 1024 / 1024:.1f} GiB RAM, Linux {platform.release()}, "
        f"Docker {docker}, {openssh}"
    )


# --- the run ---------------------------------------------------------------------------------


def ms3(values):
    return f"{pct(values, 50):.1f} / {pct(values, 90):.1f} / {max(values):.1f}"


def main():
    if not (URL and GATEWAY_PORT and SERVER_PID and INSTANCE):
        raise SystemExit("error: VIBEBOX_URL, VIBEBOX_SSH_PORT, VIBEBOX_SERVER_PID and VIBEBOX_INSTANCE must be set (scripts/bench ssh sets them)")
    for tool in ("ssh", "scp", "ssh-keygen", "/usr/sbin/sshd", "docker", "useradd", "userdel"):
        if not shutil.which(tool):
            raise SystemExit(f"error: {tool} is missing (scripts/bench ssh installs openssh-server and openssh-client)")
    work = tempfile.mkdtemp(prefix="vibebox-bench-ssh.")
    sshd = None
    load = [open("/proc/loadavg").read().split()[:3]]
    began = time.monotonic()
    try:
        key = os.path.join(work, "client_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key, "-C", "bench"], check=True)
        with open(key + ".pub") as f:
            public_key = f.read().strip()
        log("starting the baseline sshd")
        sshd_home = add_user(work)
        sshd, sshd_port = start_sshd(work, public_key)
        log("creating and starting environment bench.dev")
        user, container = environment(public_key)
        wait_port(GATEWAY_PORT, None, "the gateway")
        targets = [Target("sshd", sshd_port, BENCH_USER, key), Target("gateway", GATEWAY_PORT, user, key)]
        sshd_t, gateway_t = targets
        # Each target once before measuring: the environment's first shell session is made on
        # first use, and both sides' caches (page cache, the server's pools) warm up.
        for t in targets:
            t.run("true")
            connect_to_prompt(t)

        kex = {t.name: negotiated(t) for t in targets}
        log("negotiated:", kex)

        # First, before the transfers below grow and free the server's heap (a heap with free
        # room would hide what a session costs).
        log(f"memory of {IDLE_SESSIONS} idle sessions")
        mem_sshd = memory_sshd(sshd_t, sshd.pid, IDLE_SESSIONS)
        mem_gateway = memory_gateway(gateway_t, container, IDLE_SESSIONS)

        log(f"connect to prompt and ssh -- true, {CONNECTS} samples each")
        prompt = {t.name: [] for t in targets}
        true = {t.name: [] for t in targets}
        for _ in range(CONNECTS):
            for t in targets:
                prompt[t.name].append(connect_to_prompt(t))
                true[t.name].append(true_wall(t))
        # The same on one key exchange: OpenSSH 9 prefers sntrup761x25519, which russh lacks,
        # and its key generation costs the client and sshd tens of milliseconds.
        log(f"the same, both on {SAME_KEX}")
        same = [Target(t.name, t.port, t.user, key, kex=SAME_KEX) for t in targets]
        prompt_same = {t.name: [] for t in same}
        true_same = {t.name: [] for t in same}
        for _ in range(CONNECTS):
            for t in same:
                prompt_same[t.name].append(connect_to_prompt(t))
                true_same[t.name].append(true_wall(t))

        log(f"keystroke to echo, {KEYS} keys each")
        echo = {t.name: [] for t in targets}
        sessions = {}
        for t in targets:
            s = Session(t.ssh("-tt"))
            s.prompt()
            s.drain(0.3)
            if not s.raw():
                raise SystemExit("error: ssh left the local pty in cooked mode; its echo would be local")
            sessions[t.name] = s
        block = 50
        for start in range(0, KEYS, block):
            for t in targets:
                echo[t.name] += echo_block(sessions[t.name], min(block, KEYS - start), start)
        for s in sessions.values():
            s.close()

        log(f"scp of {SCP_BYTES // 1000000} MB, {SCP_RUNS} rounds each way")
        data = os.path.join(work, "data")
        with open(data, "wb") as f:
            left = SCP_BYTES
            while left:
                chunk = min(left, 1 << 20)
                f.write(os.urandom(chunk))
                left -= chunk
        digest = sha256_file(data)
        protocol = {t.name: scp_protocol(t, key + ".pub") for t in targets}
        homes = {"sshd": sshd_home, "gateway": gateway_t.run("echo $HOME").strip()}
        scp = {}
        for where in ("tmp", "home"):
            for t in targets:
                scp[(t.name, where)] = {"up": [], "down": []}
            for _ in range(SCP_RUNS):
                for t in targets:
                    up, down = scp_round(t, data, digest, "/tmp" if where == "tmp" else homes[t.name], work)
                    scp[(t.name, where)]["up"].append(up)
                    scp[(t.name, where)]["down"].append(down)

        load.append(open("/proc/loadavg").read().split()[:3])
        log(f"measured in {time.monotonic() - began:.0f} s")
        report(targets, kex, (prompt, true, prompt_same, true_same), echo, protocol, homes, scp, mem_sshd, mem_gateway, load)
    finally:
        if sshd is not None:
            sshd.terminate()
            try:
                sshd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sshd.kill()
        remove_user()
        shutil.rmtree(work, ignore_errors=True)


def report(targets, kex, connects, echo, protocol, homes, scp, mem_sshd, mem_gateway, load):
    print(f"machine: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d')}; load average (1, 5, 15 min) at the start {' '.join(load[0])}, at the end {' '.join(load[1])}")
    for name, found in kex.items():
        print(f"{name}: kex {found.get('kex')}, host key {found.get('host key')}, cipher {found.get('cipher')}; scp speaks {protocol[name]}")
    print(f"homes: sshd {homes['sshd']}, gateway {homes['gateway']}")
    print()
    print("| metric | sshd | gateway | gateway / sshd | budget | met? |")
    print("|---|---|---|---|---|---|")

    def line(metric, a, b, ratio, budget="", met=""):
        print(f"| {metric} | {a} | {b} | {ratio} | {budget} | {met} |")

    prompt, true, prompt_same, true_same = connects
    for what, data in (
        ("connect to prompt, ms p50 / p90 / max", prompt),
        ("`ssh -- true`, ms p50 / p90 / max", true),
        (f"connect to prompt, both on {SAME_KEX}, ms p50 / p90 / max", prompt_same),
        (f"`ssh -- true`, both on {SAME_KEX}, ms p50 / p90 / max", true_same),
    ):
        line(f"{what} (n={len(data['sshd'])})", ms3(data["sshd"]), ms3(data["gateway"]),
             f"{pct(data['gateway'], 50) / pct(data['sshd'], 50):.2f}× at p50")
    e_s, e_g = echo["sshd"], echo["gateway"]
    line(f"keystroke to echo, ms p50 / p99 / max (n={len(e_g)})",
         f"{pct(e_s, 50):.2f} / {pct(e_s, 99):.2f} / {max(e_s):.2f}",
         f"{pct(e_g, 50):.2f} / {pct(e_g, 99):.2f} / {max(e_g):.2f}",
         f"{pct(e_g, 99) / pct(e_s, 99):.2f}× at p99", "gateway p99 ≤ 5 ms",
         "yes" if pct(e_g, 99) <= 5 else "**no**")
    mb = SCP_BYTES // 1000000
    for where, label in (("tmp", "/tmp"), ("home", "home")):
        for direction, verb in (("up", "upload"), ("down", "download")):
            a = statistics.median(scp[("sshd", where)][direction])
            b = statistics.median(scp[("gateway", where)][direction])
            ratio = b / a
            budget = "≥ 70 % of sshd" if where == "tmp" else "(not a budget)"
            met = ("yes" if ratio >= 0.7 else "**no**") if where == "tmp" else ""
            runs = lambda n: ", ".join(f"{v:.0f}" for v in scp[(n, where)][direction])  # noqa: E731
            line(f"scp {mb} MB {verb}, {label}, MB/s median (runs)", f"{a:.0f} ({runs('sshd')})",
                 f"{b:.0f} ({runs('gateway')})", f"{ratio * 100:.0f} %", budget, met)
    n = IDLE_SESSIONS
    line(f"memory per idle session, server side, KiB RSS / PSS (n={n})",
         f"{mem_sshd['server'][0]:.0f} / {mem_sshd['server'][1]:.0f} (listener's delta + {fmt_names(mem_sshd['server names'], n)})",
         f"{mem_gateway['server'][0]:.0f} / {mem_gateway['server'][1]:.0f} (the server process's delta)", "", "", "")
    line(f"memory per idle session, the shell, KiB RSS / PSS (n={n})",
         f"{mem_sshd['env'][0]:.0f} / {mem_sshd['env'][1]:.0f} ({fmt_names(mem_sshd['names'], n)}, on the host)",
         f"{mem_gateway['env'][0]:.0f} / {mem_gateway['env'][1]:.0f} ({fmt_names(mem_gateway['names'], n)}, in the container)",
         "", "", "")
    line(f"memory per idle session, engine (dockerd, containerd, shim), KiB RSS / PSS (n={n})", "–",
         f"{mem_gateway['engine'][0]:.0f} / {mem_gateway['engine'][1]:.0f}", "", "", "")
    # Summed RSS counts every shared page once per process; PSS shares them out, so its sum
    # is the memory the sessions added. The engine's figure is left out: dockerd's heap moves
    # with its garbage collector by more than 20 sessions add.
    s_total = mem_sshd["server"][1] + mem_sshd["env"][1]
    g_total = mem_gateway["server"][1] + mem_gateway["env"][1]
    line("memory per idle session, server side + shell, KiB PSS", f"{s_total:.0f}", f"{g_total:.0f}",
         f"{g_total / s_total:.2f}×" if s_total > 0 else "", "", "")
    print()
    print(f"new processes per {n} sessions: sshd {mem_sshd['all names']}, gateway (in the container) {mem_gateway['all names']}")
    print("raw samples (ms):")
    for name in ("sshd", "gateway"):
        print(f"  {name} echo stdev {statistics.pstdev(echo[name]):.2f}, p90 {pct(echo[name], 90):.2f}, p95 {pct(echo[name], 95):.2f}")


def fmt_names(names, n):
    return ", ".join(f"{count / n:g} {name}" for name, count in sorted(names.items()))


if __name__ == "__main__":
    main()
