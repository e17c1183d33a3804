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
import shutil
import socket
import subprocess
import sys
import tempfile
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

    def get(self, path):
        return self.request("GET", path)

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
        self.base = free_port_base()
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
    import signal

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
