"""The portal's files over HTTP, and bad paths that must never reach a file.

A node serves the portal the build installed: "/" and "/assets/..." with
their Content-Type, the portal's Content-Security-Policy, nosniff, an ETag
(304 when it is sent back) and no-cache. Traversal in every spelling, sent
byte for byte with http.client (no client-side normalising), is 400
BAD_REQUEST; unknown files are 404 NOT_FOUND; the node keeps serving.

Then the node restarts on a web directory of the test's own
(MEDCHAIN_WEB_DIR) holding the ways out a weak check would take: a link to a
file outside, a linked directory, a FIFO, a file over the size limit. None
is served, and the FIFO does not hold the request.
"""

import http.client
import json
import os

import mc

CSP_PARTS = ("default-src 'none'", "script-src 'self'", "connect-src 'self'",
             "frame-ancestors 'none'")


def raw(url, method, path, headers=None, timeout=10):
    """One request with the path exactly as given: (status, headers, body)."""
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def error_code(body):
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def check_served(url):
    st, h, body = raw(url, "GET", "/")
    mc.check(st == 200 and h.get("content-type") == "text/html; charset=utf-8",
             f"GET / is the portal's page ({st} {h.get('content-type')})")
    mc.check(b"/assets/js/main.js" in body, "the page loads its script from /assets/")
    csp = h.get("content-security-policy", "")
    mc.check(all(p in csp for p in CSP_PARTS), f"a strict Content-Security-Policy ({csp})")
    mc.check(h.get("x-content-type-options") == "nosniff", "nosniff")
    mc.check(h.get("cache-control") == "no-cache" and h.get("etag", "").startswith('"'),
             "no-cache with an ETag")
    st, h2, body2 = raw(url, "GET", "/", {"If-None-Match": h["etag"]})
    mc.check(st == 304 and body2 == b"", f"the ETag sent back answers 304 ({st})")
    st, h3, body3 = raw(url, "HEAD", "/")
    mc.check(st == 200 and body3 == b"" and h3.get("content-length") == str(len(body)),
             "HEAD / answers the headers only")
    for path, ctype in (("/assets/js/main.js", "text/javascript; charset=utf-8"),
                        ("/assets/css/portal.css", "text/css; charset=utf-8"),
                        ("/assets/vendor/sodium-wrappers.mjs", "text/javascript; charset=utf-8"),
                        ("/assets/favicon.svg", "image/svg+xml")):
        st, h, body = raw(url, "GET", path)
        mc.check(st == 200 and h.get("content-type") == ctype and len(body) > 0,
                 f"GET {path} ({st} {h.get('content-type')})")
    st, h, _ = raw(url, "GET", "/v1/status")
    mc.check(st == 200 and h.get("x-content-type-options") == "nosniff"
             and h.get("cache-control") == "no-store", "API answers keep no-store, with nosniff")


def check_refused(url):
    malformed = [
        "/assets/../../../../etc/passwd",
        "/assets/js/../../index.html",
        "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/assets/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/assets/..%2f..%2fetc%2fpasswd",
        "/assets/..%5c..%5cetc%5cpasswd",
        "/assets/..\\..\\etc\\passwd",
        "/assets/%00.js",
        "/assets//etc/passwd",
        "/assets/.git/config",
        "/assets/" + "a" * 300 + ".js",
    ]
    for path in malformed:
        st, h, body = raw(url, "GET", path)
        mc.check(st == 400 and error_code(body) == "BAD_REQUEST"
                 and h.get("content-type") == "application/json",
                 f"GET {path[:60]} is 400 BAD_REQUEST ({st} {body[:80]!r})")
    for path, want in (("/../../etc/passwd", (404, "ROUTE_NOT_FOUND")),
                       ("/etc/passwd", (404, "ROUTE_NOT_FOUND")),
                       ("/assets/missing.js", (404, "NOT_FOUND")),
                       ("/assets/js/main.js.bak", (404, "NOT_FOUND")),
                       ("/assets/js", (404, "NOT_FOUND"))):
        st, _, body = raw(url, "GET", path)
        mc.check((st, error_code(body)) == want, f"GET {path} is {want} ({st} {body[:80]!r})")
    st, _, body = raw(url, "POST", "/")
    mc.check(st == 405 and error_code(body) == "METHOD_NOT_ALLOWED", f"POST / is 405 ({st})")
    st, _, _ = raw(url, "GET", "/health")
    mc.check(st == 200, "the node still answers after all that")


def build_trap(root):
    """A web directory with ways out: returns its path."""
    web = os.path.join(root, "trap-web")
    os.makedirs(os.path.join(web, "assets"))
    with open(os.path.join(web, "index.html"), "w") as f:
        f.write("<!doctype html><title>trap</title>\n")
    with open(os.path.join(root, "secret.txt"), "w") as f:
        f.write("secret\n")
    os.symlink("../../secret.txt", os.path.join(web, "assets", "out.txt"))
    os.symlink("/etc", os.path.join(web, "assets", "etc"))
    os.symlink(root, os.path.join(web, "assets", "up"))
    os.mkfifo(os.path.join(web, "assets", "fifo.js"))
    with open(os.path.join(web, "assets", "big.js"), "wb") as f:
        f.truncate(4 * 1024 * 1024 + 1)
    return web


def check_trap(url):
    st, _, body = raw(url, "GET", "/")
    mc.check(st == 200 and b"trap" in body, "MEDCHAIN_WEB_DIR chooses the portal's directory")
    for path in ("/assets/out.txt", "/assets/etc/passwd", "/assets/up/secret.txt",
                 "/assets/fifo.js", "/assets/big.js"):
        st, _, body = raw(url, "GET", path, timeout=10)
        mc.check(st == 404 and error_code(body) == "NOT_FOUND" and b"secret" not in body,
                 f"GET {path} is 404 NOT_FOUND ({st} {body[:80]!r})")


def main():
    a = mc.args()
    net = mc.Net(a.bin, keep=a.keep, name="portal")
    try:
        net.start()
        url = net.url()
        check_served(url)
        check_refused(url)
        net.stop()
        trap = build_trap(net.dir)
        net.run_ok("testnet", "start", "--dir", net.net, env={"MEDCHAIN_WEB_DIR": trap})
        check_trap(url)
        st, _, _ = raw(url, "GET", "/health")
        mc.check(st == 200, "the node still answers")
    finally:
        mc.close_safely(net)
    mc.finish()


if __name__ == "__main__":
    main()
