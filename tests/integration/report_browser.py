#!/usr/bin/env python3
"""report_browser.py CHROMIUM REPORT.html TRACE.jsonl [--screenshot PNG]

Loads a page `iamp report` wrote in headless Chromium and checks it the
way a person would see it, driving the browser over the DevTools protocol
on --remote-debugging-pipe (fd 3: commands in, fd 4: replies and events
out, each a JSON message ended by a NUL byte; standard library only):

- no console error, no uncaught exception, no error in the browser's log;
- no request other than the page itself (it is self-contained);
- the charts are drawn: every chart with values has an SVG path per
  series with at least two points, and the accuracy chart is among them;
  the pointer over a chart shows a readout of that round's values;
- the tree: the first traced question is listed; a real mouse click on
  its toggle shows exactly its subquestions (their texts as in TRACE),
  a click on a subquestion with children opens it too, and a second click
  on the root hides its subquestions again.

--screenshot saves a full-page PNG after opening a few nodes. Exits 1
with the failures listed; the whole run is bounded by 30 s.
"""
import base64
import json
import os
import select
import subprocess
import sys
import tempfile
import time

DEADLINE = time.monotonic() + 30.0
fails = []


def fail(msg):
    fails.append(msg)


class Browser:
    """Chromium with a DevTools pipe: send commands, collect events."""

    def __init__(self, chromium, profile):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        hi_r = os.dup(to_child_r)  # numbers above 4, so dup2 onto 3 and 4 never clobbers
        hi_w = os.dup(from_child_w)
        while hi_r <= 4 or hi_w <= 4:
            hi_r, hi_w = os.dup(hi_r), os.dup(hi_w)

        def fds():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--mute-audio",
                "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"]
        self.log = open(os.path.join(profile, "chromium.log"), "w")
        self.proc = subprocess.Popen(args, preexec_fn=fds, close_fds=False,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        for fd in (to_child_r, from_child_w, hi_r, hi_w):
            os.close(fd)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self):
        while b"\0" not in self.buf:
            left = DEADLINE - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from Chromium within 30 s")
            ready, _, _ = select.select([self.from_child], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (see chromium.log)")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        cmd = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            cmd["sessionId"] = session
        os.write(self.to_child, json.dumps(cmd).encode() + b"\0")
        while True:
            msg = self._read_message()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, method):
        for k, ev in enumerate(self.events):
            if ev["method"] == method:
                del self.events[k]
                return ev
        while True:
            msg = self._read_message()
            if msg.get("method") == method:
                return msg
            if "method" in msg:
                self.events.append(msg)

    def drain(self, seconds):
        """Collect events for a while (late console errors)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.from_child], [], [], max(0.0, end - time.monotonic()))
            if ready:
                chunk = os.read(self.from_child, 1 << 20)
                if not chunk:
                    return
                self.buf += chunk
                while b"\0" in self.buf:
                    msg, self.buf = self.buf.split(b"\0", 1)
                    msg = json.loads(msg)
                    if "method" in msg:
                        self.events.append(msg)

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def evaluate(b, session, expr):
    r = b.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
    if "exceptionDetails" in r:
        raise RuntimeError(f"evaluate {expr[:60]}...: {r['exceptionDetails']}")
    return r["result"].get("value")


def click(b, session, selector):
    """A real mouse click at the centre of the first element matching selector."""
    box = evaluate(b, session, f"""(function () {{
        var e = document.querySelector({json.dumps(selector)});
        if (!e) return null;
        e.scrollIntoView({{block: 'center'}});
        var r = e.getBoundingClientRect();
        return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
    }})()""")
    if not box:
        fail(f"nothing to click: {selector}")
        return False
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        b.send("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"],
                                            "button": "left", "clickCount": 1}, session)
    return True


# Children texts of the n-th shown list item under a root li (None: hidden or absent).
KIDS = """(function (li) {
    if (!li) return 'no such node';
    var ul = li.querySelector(':scope > ul.children');
    if (!ul || ul.offsetParent === null) return null;
    return Array.prototype.map.call(ul.children, function (c) {
        return c.querySelector(':scope > .row > .q').textContent;
    });
})(%s)"""


def check_charts(b, s):
    charts = evaluate(b, s, """Array.prototype.map.call(document.querySelectorAll('.chart'),
        function (c) {
            return {title: c.querySelector('h3').textContent,
                    empty: !!c.querySelector('.empty'),
                    legend: c.querySelectorAll('.legend span').length,
                    paths: Array.prototype.map.call(c.querySelectorAll('path.series'),
                        function (p) { return (p.getAttribute('d').match(/[ML]/g) || []).length; }),
                    width: c.querySelector('svg') ? c.querySelector('svg').getBoundingClientRect().width : 0};
        })""")
    drawn = [c for c in charts if not c["empty"]]
    if len(drawn) < 4:
        fail(f"only {len(drawn)} charts drawn: {charts}")
    if not drawn:
        return 0
    for c in drawn:
        if not c["paths"] or len(c["paths"]) != c["legend"]:
            fail(f"chart {c['title']!r}: {len(c['paths'])} paths for {c['legend']} series")
        if any(n < 2 for n in c["paths"]):
            fail(f"chart {c['title']!r}: a path with fewer than two points: {c['paths']}")
        if c["width"] < 100:
            fail(f"chart {c['title']!r} is {c['width']} px wide")
    if not any(c["title"] == "Held-out accuracy" for c in drawn):
        fail(f"no accuracy chart among {[c['title'] for c in drawn]}")
    # The pointer over the first chart: a readout of its round and series.
    box = evaluate(b, s, """(function () {
        var r = document.querySelector('.chart svg rect').getBoundingClientRect();
        return {x: r.left + r.width / 2, y: r.top + r.height / 2};
    })()""")
    b.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box["x"], "y": box["y"]}, s)
    tip = evaluate(b, s, "(function (t) { return t.style.display === 'block' ? t.textContent : ''; })"
                         "(document.getElementById('tip'))")
    if not tip.startswith("round ") or "accuracy: " not in tip:
        fail(f"no readout under the pointer: {tip!r}")
    return len(drawn)


def check_tree(b, s, first):
    root = "document.querySelector('#tree > li.node')"
    shown = evaluate(b, s, f"{root} && {root}.querySelector(':scope > .row > .q').textContent")
    if shown != first["question"]:
        fail(f"first traced question shown as {shown!r}, want {first['question']!r}")
    if evaluate(b, s, KIDS % root) is not None:
        fail("the root's subquestions show before any click")
    want = [c["question"] for c in first["tree"]["children"]]
    if not want:
        fail("the first traced question has no subquestions to open")
        return
    click(b, s, "#tree > li.node > .row > .toggle")
    got = evaluate(b, s, KIDS % root)
    if got != want:
        fail(f"after a click the root shows {got}, want its subquestions {want}")
    grand = next((k for k, c in enumerate(first["tree"]["children"]) if c["children"]), None)
    if grand is not None:
        child = f"{root}.querySelectorAll(':scope > ul.children > li.node')[{grand}]"
        sel = f"#tree > li.node > ul.children > li.node:nth-child({grand + 1}) > .row > .toggle"
        click(b, s, sel)
        got = evaluate(b, s, KIDS % child)
        want2 = [c["question"] for c in first["tree"]["children"][grand]["children"]]
        if got != want2:
            fail(f"subquestion {grand + 1} opened to {got}, want {want2}")
    click(b, s, "#tree > li.node > .row > .toggle")
    if evaluate(b, s, KIDS % root) is not None:
        fail("a second click did not hide the root's subquestions")
    click(b, s, "#tree > li.node > .row > .toggle")


def problems(b, page_url):
    out = []
    for ev in b.events:
        m, p = ev["method"], ev.get("params", {})
        if m == "Runtime.exceptionThrown":
            out.append(f"exception: {p['exceptionDetails'].get('exception', {}).get('description') or p['exceptionDetails'].get('text')}")
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
            out.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p.get('args', [])]}")
        elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            out.append(f"log {p['entry']['level']}: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        elif m == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if url != page_url and not url.startswith(("data:", "about:")):
                out.append(f"the page requested {url}")
    return out


def main():
    args = [a for a in sys.argv[1:]]
    shot = None
    if "--screenshot" in args:
        k = args.index("--screenshot")
        shot = args[k + 1]
        del args[k:k + 2]
    chromium, page, trace = args
    first = json.loads(open(trace).readline())
    url = "file://" + os.path.abspath(page)
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(chromium, profile)
        try:
            target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                b.send(domain + ".enable", {}, s)
            b.send("Emulation.setDeviceMetricsOverride",
                   {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, s)
            b.send("Page.navigate", {"url": url}, s)
            b.wait_event("Page.loadEventFired")
            if evaluate(b, s, "document.body.getAttribute('data-ready')") != "1":
                fail("the page's script did not run to its end")
            n = check_charts(b, s)
            check_tree(b, s, first)
            b.drain(0.3)
            bad = problems(b, url)
            fails.extend(bad)
            if shot:
                evaluate(b, s, "window.scrollTo(0, 0)")
                h = evaluate(b, s, "document.documentElement.scrollHeight")
                png = b.send("Page.captureScreenshot",
                             {"format": "png", "captureBeyondViewport": True,
                              "clip": {"x": 0, "y": 0, "width": 1280, "height": h, "scale": 1}}, s)
                with open(shot, "wb") as f:
                    f.write(base64.b64decode(png["data"]))
        except Exception as e:  # a protocol failure is a test failure, with its reason
            fail(f"{type(e).__name__}: {e}")
            n = 0
            log = os.path.join(profile, "chromium.log")
            if os.path.exists(log):
                sys.stderr.write(open(log).read()[-2000:])
        finally:
            b.close()
    for f in fails:
        print("FAIL:", f, file=sys.stderr)
    if fails:
        sys.exit(1)
    print(f"ok: {n} charts drawn, tree opens and closes, no console errors, no requests")


main()
