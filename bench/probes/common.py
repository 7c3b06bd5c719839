"""Shared helpers of the acceptance probes (Python 3 stdlib only).

Starts the release binary, a hostile fake upstream, a raw-HTTP load client, and reads
metrics, peak RSS and data files. Every probe runs on 127.0.0.1 only.
"""
import asyncio
import datetime
import glob
import json
import os
import re
import resource
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MICROMODEL_BIN", os.path.join(WT, "target", "release", "micromodel"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%d-%m-%Y")


def count_lines(paths):
    n = 0
    for p in paths:
        try:
            with open(p, "rb") as f:
                n += sum(1 for _ in f)
        except (FileNotFoundError, NotADirectoryError):
            pass
    return n


def workdir(name):
    return tempfile.mkdtemp(prefix=f"probe-{name}-")


def chat_body(model="demo", content="hello", **extra):
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    body.update(extra)
    return json.dumps(body).encode()


class Server:
    """The micromodel binary, `demo` or `serve`, with its stderr in a log file."""

    def __init__(self, root, mode="demo", config=None, args=(), env=None, nofile=None,
                 log_name="micromodel.log", rust_log=None, cwd=None):
        self.root = root
        self.data = os.path.join(root, "data")
        self.config_path = os.path.join(root, "conf", "config.json")
        os.makedirs(os.path.dirname(self.config_path), exist_ok=True)
        self.admin_port = free_port()
        self.log_path = os.path.join(root, log_name) if "/" not in log_name else log_name
        self.port = None
        e = dict(os.environ)
        e.pop("RUST_LOG", None)
        if rust_log:
            e["RUST_LOG"] = rust_log
        e.update(env or {})
        cmd = [BIN, mode, "--data-dir", self.data, "--config", self.config_path,
               "--admin-addr", f"127.0.0.1:{self.admin_port}", *args]
        if mode == "demo":
            cmd += ["--port", "0"]
        else:
            with open(self.config_path, "w") as f:
                json.dump(config, f)
            self.port = next(iter(config.values()))["PORT"]

        def pre():
            os.setsid()
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log,
                                     preexec_fn=pre, cwd=cwd or root, env=e)
        self.stdout_lines = []
        self._ready = threading.Event()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.wait_ready()

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace")
            self.stdout_lines.append(line)
            m = re.search(r"ready on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self._ready.set()

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"micromodel exited {self.proc.returncode}: {self.tail()}")
            if self.port:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1):
                        return
                except Exception:
                    pass
            time.sleep(0.05)
        raise RuntimeError("micromodel not ready: " + self.tail())

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def metric(self, name, labels=None):
        """Sum of the samples of `name` whose labels contain every `labels` item."""
        total = 0.0
        for line in self.metrics().splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            m = re.match(r"([a-z_]+)(\{[^}]*\})?\s+(\S+)", line)
            if not m or m.group(1) != name:
                continue
            if labels and not all(f'{k}="{v}"' in (m.group(2) or "") for k, v in labels.items()):
                continue
            total += float(m.group(3))
        return total

    def vmhwm_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def stop(self, timeout=120, second_signal_after=None):
        """SIGTERM; returns (exit code, seconds from the signal to the exit)."""
        t0 = time.time()
        self.signal()
        if second_signal_after is not None:
            try:
                self.proc.wait(second_signal_after)
            except subprocess.TimeoutExpired:
                self.signal()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return ("killed", time.time() - t0)
        return (self.proc.returncode, round(time.time() - t0, 2))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def tail(self, n=5):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return b"".join(f.readlines()[-n:]).decode(errors="replace")

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def day_file(self, workflow="demo"):
        return os.path.join(self.data, workflow, today(), "data.jsonl")

    def all_lines(self, workflow="demo"):
        return count_lines(glob.glob(os.path.join(self.data, workflow, "*", "data.jsonl")))


# ---------------------------------------------------------------- raw HTTP client

async def read_response(reader):
    """Reads one HTTP/1.1 response; returns (status, body bytes count, headers dict)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for h in lines[1:]:
        if ":" in h:
            k, v = h.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    n = 0
    if "content-length" in headers:
        n = int(headers["content-length"])
        await reader.readexactly(n)
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            n += size
            if size == 0:
                break
    return status, n, headers


def request_bytes(method, path, body=b"", port=0, extra=""):
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            ).encode() + body


class Load:
    """`conns` keep-alive connections sending chat completions until stopped."""

    def __init__(self, port, conns=32, body=None, path="/v1/chat/completions", timeout=30):
        self.port, self.conns, self.path, self.timeout = port, conns, path, timeout
        self.body = body or chat_body()
        self.status = {}
        self.errors = {}
        self.ok_times = []  # completion time of each 2xx answer
        self.start_times = []  # send time of each 2xx answer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self

    async def _worker(self):
        req = request_bytes("POST", self.path, self.body, self.port)
        reader = writer = None
        while not self._stop.is_set():
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", self.port), self.timeout)
                t0 = time.time()
                writer.write(req)
                status, _, headers = await asyncio.wait_for(read_response(reader), self.timeout)
                self.status[status] = self.status.get(status, 0) + 1
                if 200 <= status < 300:
                    self.ok_times.append(time.time())
                    self.start_times.append(t0)
                if headers.get("connection", "").lower() == "close":
                    writer.close()
                    writer = None
            except Exception as e:  # noqa: BLE001 - counted, the probe goes on
                k = type(e).__name__
                self.errors[k] = self.errors.get(k, 0) + 1
                if writer:
                    writer.close()
                writer = None
                await asyncio.sleep(0.01)
        if writer:
            writer.close()

    async def _main(self):
        await asyncio.gather(*(self._worker() for _ in range(self.conns)))

    @property
    def ok(self):
        return len(self.ok_times)

    def summary(self):
        return {"2xx": self.ok, "status": self.status, "errors": self.errors}


def one_request(port, body, path="/v1/chat/completions", timeout=30, method="POST"):
    async def go():
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        w.write(request_bytes(method, path, body, port, "Connection: close\r\n"))
        res = await asyncio.wait_for(read_response(r), timeout)
        w.close()
        return res
    return asyncio.run(go())


def raw_exchange(port, data, timeout=10):
    """Sends raw bytes, returns what the server answers until it closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and len(out) > 2000:
                    break
        except socket.timeout:
            pass
        return out


# ---------------------------------------------------------------- hostile fake upstream

GIB = 1 << 30
MIB = 1 << 20


def answer(n_choices=1, content="ok", role="assistant"):
    return {
        "id": f"chatcmpl-probe-{time.time_ns()}", "object": "chat.completion",
        "created": int(time.time()), "model": "probe",
        "choices": [{"index": i, "message": {"role": role, "content": content},
                     "finish_reason": "stop"} for i in range(n_choices)],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class Upstream:
    """Answers by the request's `model`: ok, stall, longline, noblank, choices100k, raw:<json>."""

    def __init__(self):
        self.paths = []
        self.release = threading.Event()
        up = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        data += self.rfile.read(size + 2)[:size]
                        if size == 0:
                            return data
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _send(self, status, obj):
                data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _sse_start(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

            def _chunk(self, data):
                self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")

            def do_GET(self):
                up.paths.append(self.path)
                self._send(200, {"object": "list", "data": []})

            def do_POST(self):
                up.paths.append(self.path)
                raw = self._body()
                m = re.search(rb'"model"\s*:\s*"([^"]*)"', raw[:4096] + raw[-4096:])
                model = m.group(1).decode() if m else "ok"
                try:
                    if model == "ok":
                        return self._send(200, answer())
                    if model.startswith("raw"):
                        return self._send(200, RAW_ANSWERS[model].encode())
                    if model == "choices100k":
                        return self._send(200, answer(100_000))
                    if model == "bigjson":  # a 1 GiB non-streamed answer
                        pad = b"x" * MIB
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        self._chunk(b'{"choices":[{"index":0,"message":{"role":"assistant","content":"')
                        for _ in range(1024):
                            self._chunk(pad)
                        self._chunk(b'"},"finish_reason":"stop"}]}')
                        return self._chunk(b"")
                    self._sse_start()
                    if model == "stall":
                        self._chunk(b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}\n\n')
                        self.wfile.flush()
                        up.release.wait()
                        return
                    if model.startswith("longline"):
                        self._chunk(b"data: ")
                        pad = b"x" * MIB
                        for _ in range(64 if model == "longline64" else 1024):
                            self._chunk(pad)
                        return self._chunk(b"")
                    if model == "noblank":
                        line = b'data: {"choices":[{"index":0,"delta":{"content":"' + b"y" * 1000 + b'"}}]}\n'
                        block = line * (MIB // len(line))
                        for _ in range(1024):
                            self._chunk(block)
                        return self._chunk(b"")
                    if model.startswith("sse"):
                        for ev in RAW_STREAMS[model]:
                            self._chunk(b"data: " + ev.encode() + b"\n\n")
                        self._chunk(b"data: [DONE]\n\n")
                        return self._chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    return
                self._send(404, {"error": {"message": "unknown probe model"}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()


# Non-streamed answers the recorder may not write as is (case 6). Raw text: Python's json
# would not produce a lone surrogate.
RAW_ANSWERS = {
    "raw_surrogate": '{"id":"a1","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x\\ud800y"},"finish_reason":"stop"}]}',
    "raw_role_user": '{"id":"a2","model":"m","choices":[{"index":0,"message":{"role":"user","content":"x"},"finish_reason":"stop"}]}',
    "raw_content_num": '{"id":"a3","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":5},"finish_reason":"stop"}]}',
    "raw_big_number": '{"id":"a4","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1e400,"completion_tokens":1,"total_tokens":2}}',
    "raw_deep_answer": '{"id":"a5","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x","tool_calls":' + "[" * 200 + "]" * 200 + '},"finish_reason":"stop"}]}',
}
RAW_STREAMS = {
    "sse_surrogate": ['{"id":"s1","choices":[{"index":0,"delta":{"role":"assistant","content":"a\\ud800b"}}]}',
                      '{"id":"s1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'],
    "sse_pair": ['{"id":"s2","choices":[{"index":0,"delta":{"role":"assistant","content":"\\ud83d"}}]}',
                 '{"id":"s2","choices":[{"index":0,"delta":{"content":"\\ude00"}}]}',
                 '{"id":"s2","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'],
}


def serve_config(upstream_url, port=None, **extra):
    w = {"OPENAI_API_HOST": upstream_url, "PORT": port or free_port()}
    w.update(extra)
    return {"w": w}
