"""Shared helpers for medchain's integration tests.

The tests drive real `medchain` processes on 127.0.0.1 through the CLI and
the HTTP API, the way an operator or an EHR system would. Every process a
test starts is stopped by the test (Net.close, also on failure), and every
wait is bounded in time.
"""

import argparse
import hashlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

FAILURES = []
PASSES = []


def args():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True, help="path to the medchain executable")
    p.add_argument("--keep", action="store_true", help="keep the test directory")
    return p.parse_args()


def check(cond, what):
    """Records one assertion; the test fails at the end if any failed."""
    if cond:
        PASSES.append(what)
    else:
        FAILURES.append(what)
        print(f"FAIL: {what}", flush=True)


def finish():
    print(f"{len(PASSES)} passed, {len(FAILURES)} failed")
    sys.exit(1 if FAILURES else 0)


def wait_for(fn, timeout, interval=0.1):
    """Calls fn until it returns a true value or `timeout` seconds pass;
    returns that value, or the last one (false) at the deadline."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(interval)


def free_port_base(span=20):
    """A base port with `span` free ports above it (best effort)."""
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        base = s.getsockname()[1]
        s.close()
        if base + span >= 65000:
            continue
        ok = True
        for off in range(span):
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", base + off))
            except OSError:
                ok = False
            finally:
                t.close()
            if not ok:
                break
        if ok:
            return base
    raise RuntimeError("no free port range")


def blake2b32(data):
    return hashlib.blake2b(data, digest_size=32).hexdigest()


class Http:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def request(self, method, path, body=None, ctype="application/json", timeout=30):
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, _json(raw)
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, _json(raw)

    def get(self, path, timeout=30):
        return self.request("GET", path, timeout=timeout)

    def post(self, path, body, ctype="application/json"):
        return self.request("POST", path, body, ctype)


def _json(raw):
    try:
        return json.loads(raw.decode() if raw else "null")
    except (ValueError, UnicodeDecodeError):
        return {"_raw": raw[:200].decode("latin-1")}


class Net:
    """A testnet of N nodes in a temporary directory, driven by the CLI."""

    def __init__(self, binary, nodes=1, keep=False, name="mc"):
        self.bin = os.path.abspath(binary)
        self.dir = tempfile.mkdtemp(prefix=f"medchain-{name}-")
        self.keep = keep
        self.nodes = nodes
        # Node i takes the API port base + 10 i and the p2p port next to it.
        self.base = free_port_base(span=max(20, 10 * nodes + 2))
        self.run_ok("testnet", "init", "--nodes", str(nodes), "--dir", self.net, "--base-port",
                    str(self.base))
        self.keys = os.path.join(self.net, "keys")

    @property
    def net(self):
        return os.path.join(self.dir, "net")

    def home(self, i=0):
        return os.path.join(self.net, f"node{i}")

    def url(self, i=0):
        return f"http://127.0.0.1:{self.base + 10 * i}"

    def http(self, i=0):
        return Http(self.url(i))

    def run(self, *argv, timeout=120, env=None):
        e = dict(os.environ)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        if env:
            e.update(env)
        p = subprocess.run([self.bin, *argv], capture_output=True, text=True, timeout=timeout,
                           env=e)
        return p.returncode, p.stdout, p.stderr

    def run_ok(self, *argv, **kw):
        rc, out, err = self.run(*argv, **kw)
        if rc != 0:
            raise RuntimeError(f"medchain {' '.join(argv)} failed ({rc}): {err.strip()}")
        return out

    def start(self):
        return self.run_ok("testnet", "start", "--dir", self.net, timeout=90)

    def stop(self):
        return self.run("testnet", "stop", "--dir", self.net, timeout=60)

    def status(self):
        return json.loads(self.run_ok("testnet", "status", "--dir", self.net, "--json"))

    def pid(self, i=0):
        with open(os.path.join(self.home(i), "node.pid")) as f:
            return int(f.read().strip())

    def keygen(self, name):
        path = os.path.join(self.dir, f"{name}.key")
        out = self.run_ok("keygen", "--out", path, "--no-passphrase", "--json")
        info = json.loads(out)
        info["file"] = path
        return info

    def admin_key(self, slug):
        return os.path.join(self.keys, f"{slug}-admin.key")

    def tx(self, key, call, *kv, node=0, extra=()):
        """Signs and submits through the CLI; returns (rc, parsed JSON or None, stderr)."""
        rc, out, err = self.run("tx", "--node", self.url(node), "--key", key, "--json", *extra,
                                call, *kv)
        try:
            doc = json.loads(out) if out.strip() else None
        except ValueError:
            doc = None
        return rc, doc, err

    def tx_ok(self, key, call, *kv, node=0):
        rc, doc, err = self.tx(key, call, *kv, node=node)
        if rc != 0:
            raise RuntimeError(f"tx {call} failed: {err.strip()} {doc}")
        return doc

    def query(self, key, path, node=0, extra=()):
        """A GET signed as keystore `key`'s identity, through `medchain query
        --key FILE --json PATH` (the stdlib cannot sign Ed25519). Returns
        (200, parsed body) when the node answered 2xx, else (CODE, parsed
        error body or None) with CODE the stable error name the CLI printed
        ("UNAUTHORIZED", "AUTH_REQUIRED", ...)."""
        rc, out, err = self.run("query", "--node", self.url(node), "--key", key, "--json",
                                *extra, path)
        doc = _json(out.encode()) if out.strip() else None
        if rc == 0:
            return 200, doc
        code = None
        if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
            code = doc["error"].get("code")
        if code is None:
            parts = err.strip().split(":")
            code = parts[1].strip() if len(parts) > 2 else err.strip()
        return code, doc

    def reader(self, key, node=0):
        """An Http-like object whose get() signs as `key` (see query)."""
        return Signed(self, key, node)

    def height(self, i=0, timeout=5):
        """Node i's height, or None when it does not answer."""
        try:
            code, st = self.http(i).get("/v1/status", timeout=timeout)
        except OSError:
            return None
        return st["height"] if code == 200 else None

    def kill(self, i, sig=signal.SIGKILL, timeout=15):
        """Sends sig to node i (its pid from HOME/node.pid) and waits until
        the process is gone (or a zombie). Returns the pid."""
        pid = self.pid(i)
        os.kill(pid, sig)

        def gone():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
            except OSError:
                return True

        if not wait_for(gone, timeout, 0.02):
            raise RuntimeError(f"node{i} (pid {pid}) did not exit after signal {sig}")
        return pid

    def block_hashes(self, i, lo, hi):
        """{height: hash} of node i's blocks lo..hi (those it has), read
        through the block list a page at a time."""
        out = {}
        h = lo
        while h <= hi:
            code, page = self.http(i).get(f"/v1/blocks?from={h}&limit=100")
            if code != 200 or not page["items"]:
                break
            for b in page["items"]:
                if b["height"] <= hi:
                    out[b["height"]] = b["hash"]
            h = page["items"][-1]["height"] + 1
        return out

    # ---- node configs (HOME/config, "key = value" lines) ----

    def config_path(self, i):
        return os.path.join(self.home(i), "config")

    def config_lines(self, i):
        with open(self.config_path(i)) as f:
            return f.read().splitlines()

    def _config_write(self, i, lines):
        tmp = self.config_path(i) + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, self.config_path(i))

    def config_set(self, i, **settings):
        """Sets keys in node i's config (replacing their lines); the node
        reads it when it next starts."""
        lines = self.config_lines(i)
        for key, value in settings.items():
            line = f"{key} = {value}"
            at = [k for k, l in enumerate(lines) if l.split("=")[0].strip() == key]
            if at:
                lines[at[0]] = line
            else:
                lines.append(line)
        self._config_write(i, lines)

    def config_peers(self, i):
        """Node i's peer lines as [(pubkey_hex, host, port)]."""
        out = []
        for line in self.config_lines(i):
            key, _, value = line.partition("=")
            if key.strip() == "peer":
                pk, _, addr = value.strip().partition("@")
                host, _, port = addr.rpartition(":")
                out.append((pk, host, int(port)))
        return out

    def config_peers_set(self, i, peers):
        """Replaces node i's peer lines with [(pubkey_hex, host, port)]."""
        lines = [l for l in self.config_lines(i) if l.split("=")[0].strip() != "peer"]
        lines += [f"peer = {pk}@{host}:{port}" for pk, host, port in peers]
        self._config_write(i, lines)

    def validator_pks(self):
        """The validators' public keys (hex), by node index, from genesis.json."""
        with open(os.path.join(self.net, "genesis.json")) as f:
            g = json.load(f)
        by_node = {v["node"]: v["pk"] for v in g["validators"]}
        return [by_node[f"node{i}"] for i in range(len(by_node))]

    def p2p_port(self, i):
        return self.base + 10 * i + 1

    def wait_height(self, h, i=0, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            code, st = self.http(i).get("/v1/status")
            if code == 200 and st["height"] >= h:
                return st["height"]
            time.sleep(0.1)
        raise RuntimeError(f"height {h} not reached")

    def close(self):
        try:
            self.stop()
        finally:
            if not self.keep:
                shutil.rmtree(self.dir, ignore_errors=True)
            else:
                print(f"kept {self.dir}")


class Signed:
    """get(path) -> (200 | ERROR_CODE, doc), signed as one keystore."""

    def __init__(self, net, key, node=0):
        self.net, self.key, self.node = net, key, node

    def get(self, path, extra=()):
        return self.net.query(self.key, path, node=self.node, extra=extra)


def close_safely(net, tries=20):
    """Net.close that survives the binary being relinked meanwhile (another
    build replacing `medchain` can make one exec fail): the stop is retried
    for a bounded time, then any node this net started that still runs (its
    pid from HOME/node.pid, its command line naming this net's directory)
    gets SIGTERM and, 10 s later, SIGKILL. Removes the directory last."""
    pids = []
    for i in range(64):
        if not os.path.exists(net.home(i)):
            break
        try:
            pids.append(net.pid(i))
        except (OSError, ValueError):
            pass

    def ours(pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return net.dir.encode() in f.read()
        except OSError:
            return False

    for _ in range(tries):
        try:
            rc, _, _ = net.stop()
        except (OSError, subprocess.SubprocessError):
            rc = -1
        if rc == 0 or not any(ours(p) for p in pids):
            break
        time.sleep(1)
    for pid in [p for p in pids if ours(p)]:
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 10
        while ours(pid) and time.time() < deadline:
            time.sleep(0.1)
        if ours(pid):
            os.kill(pid, signal.SIGKILL)
    if not net.keep:
        shutil.rmtree(net.dir, ignore_errors=True)
    else:
        print(f"kept {net.dir}")


class Proxy:
    """A TCP forwarder the test controls, for cutting links between nodes.

    It listens on an ephemeral port of 127.0.0.1 (self.port) and forwards
    every connection to 127.0.0.1:target. Modes (set_mode):
      "pass"   forwards both ways;
      "pause"  moves nothing either way, buffering what arrives; connections
               stay open and new ones are accepted and held, as when a
               network stalls; "pass" delivers what was held, in order;
      "drop"   closes every connection and closes new ones at once, as when
               a link resets.
    delay(to_target, from_target) holds each chunk that long (seconds) in
    that direction. Threads are daemons; close() ends them (bounded)."""

    def __init__(self, target_port, host="127.0.0.1"):
        self.target = (host, target_port)
        self.mode = "pass"
        self.bytes = 0
        self.accepted = 0
        self._delay = {"to": 0.0, "from": 0.0}
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._links = set()
        self._threads = []
        self._closing = False
        self._ls = socket.socket()
        self._ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._ls.bind((host, 0))
        self._ls.listen(32)
        self._ls.settimeout(0.2)
        self.port = self._ls.getsockname()[1]
        self._spawn(self._accept_loop)

    def _spawn(self, fn, *a):
        t = threading.Thread(target=fn, args=a, daemon=True)
        t.start()
        with self._lock:
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def set_mode(self, mode):
        assert mode in ("pass", "pause", "drop")
        with self._lock:
            self.mode = mode
            links = list(self._links) if mode == "drop" else []
        if mode == "pause":
            self._flowing.clear()
        else:
            self._flowing.set()
        for link in links:
            link.close()

    def delay(self, to_target=0.0, from_target=0.0):
        self._delay = {"to": to_target, "from": from_target}

    def _accept_loop(self):
        while not self._closing:
            try:
                down, _ = self._ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            down.settimeout(None)
            if self.mode == "drop" or self._closing:
                down.close()
                continue
            try:
                up = socket.create_connection(self.target, timeout=2)
                up.settimeout(None)
            except OSError:
                down.close()
                continue
            link = _Link(self, down, up)
            with self._lock:
                self._links.add(link)
                self.accepted += 1
            for src, dst, way in ((down, up, "to"), (up, down, "from")):
                q = queue.Queue()
                self._spawn(self._read, link, src, q)
                self._spawn(self._write, link, dst, q, way)

    def _read(self, link, src, q):
        while not link.closed:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            q.put((time.time(), data))
            if not data:
                return

    def _write(self, link, dst, q, way):
        while not link.closed:
            try:
                at, data = q.get(timeout=0.2)
            except queue.Empty:
                continue
            if not data:
                break
            while not link.closed and time.time() < at + self._delay[way]:
                time.sleep(0.005)
            while not link.closed and not self._flowing.wait(0.2):
                pass
            try:
                dst.sendall(data)
            except OSError:
                break
            with self._lock:
                self.bytes += len(data)
        link.close()

    def close(self):
        self._closing = True
        self._flowing.set()
        try:
            self._ls.close()
        except OSError:
            pass
        with self._lock:
            links = list(self._links)
            threads = list(self._threads)
        for link in links:
            link.close()
        deadline = time.time() + 5
        for t in threads:
            t.join(max(0.0, deadline - time.time()))


class _Link:
    """One proxied connection: the socket accepted and the one dialed."""

    def __init__(self, proxy, down, up):
        self.proxy, self.socks, self.closed = proxy, (down, up), False

    def close(self):
        with self.proxy._lock:
            if self.closed:
                return
            self.closed = True
            self.proxy._links.discard(self)
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
