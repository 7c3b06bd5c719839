#!/usr/bin/env python3
"""Acceptance re-run of issue 11 against the release binary. `probe.py <case> ...` or `all`.

Each case prints one JSON object per figure. See README.md in this folder.
"""
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from common import (BIN, GIB, MIB, Load, Server, Upstream, chat_body, count_lines, free_port,
                    one_request, raw_exchange, request_bytes, serve_config, today, workdir)


def report(case, **figures):
    print(json.dumps({"case": case, **figures}), flush=True)


# ------------------------------------------------------------------ 1: silent loss

def case1(actions=("delete_folder", "delete_file", "replace_file", "rename_file", "folder_made_file")):
    for action in actions:
        s = Server(workdir("c1"))
        load = Load(s.port, conns=32).start()
        time.sleep(2)
        path = s.day_file()
        old = open(path, "rb")  # keeps the old inode readable after it is unlinked
        replaced_lines = 0
        if action == "delete_folder":
            shutil.rmtree(os.path.dirname(path))
        elif action == "delete_file":
            os.unlink(path)
        elif action == "replace_file":
            tmp = path + ".new"
            with open(tmp, "w") as f:
                f.write('{"placeholder":1}\n')
            replaced_lines = 1
            os.rename(tmp, path)
        elif action == "rename_file":  # log rotation by mv: the old lines stay in the old file
            os.rename(path, path + ".1")
        else:  # the day folder becomes a file for 2 s: records wait, then go to the path
            shutil.rmtree(os.path.dirname(path))
            open(os.path.dirname(path), "w").close()
            time.sleep(2)
            os.unlink(os.path.dirname(path))
        time.sleep(5)
        load.stop()
        written_metric = s.metric("micromodel_records_written_total")
        rc, took = s.stop()
        in_old = sum(1 for _ in old)
        at_path = count_lines([path]) - replaced_lines
        warned = s.log_text().count("no longer the file at its path")
        report("1", action=action, answers_2xx=load.ok, lines_in_old_file=in_old,
               lines_at_path_after=at_path, lost=load.ok - in_old - at_path,
               records_written_metric=written_metric, warnings=warned, exit=rc,
               load=load.summary())


# ------------------------------------------------------------------ 2: stop budget

def blocked_server(drain, upstream=None, fifo=False):
    root = workdir("c2")
    wf = "w" if upstream else "demo"
    day = os.path.join(root, "data", wf, today())
    if fifo:
        os.makedirs(day)
        os.mkfifo(os.path.join(day, "data.jsonl"))
    else:
        os.makedirs(os.path.dirname(day))
        open(day, "w").close()  # a file where the day folder should be
    args = ["--drain-seconds", str(drain)]
    if upstream:
        return Server(root, "serve", serve_config(upstream.url), args=args)
    return Server(root, args=args)


async def open_streams(port, n):
    conns = []
    for _ in range(n):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(request_bytes("POST", "/v1/chat/completions",
                              chat_body("stall", stream=True), port))
        await r.readuntil(b"data:")  # the first event has arrived: the stream is in flight
        conns.append((r, w))
    return conns


def case2():
    for drain in (10, 30):
        s = blocked_server(drain)
        st, _, _ = one_request(s.port, chat_body())
        time.sleep(0.5)
        rc, took = s.stop()
        report("2", variant="blocked day path, nothing in flight", drain_seconds=drain,
               answer=st, stop_seconds=took, budget_plus_2_5=drain + 2.5, exit=rc,
               last_log_line=s.tail(1).strip()[-200:])
    up = Upstream()
    for drain, second in ((10, None), (30, None), (30, 2.0)):
        s = blocked_server(drain, up)
        one_request(s.port, chat_body("ok"))
        loop = asyncio.new_event_loop()
        conns = loop.run_until_complete(open_streams(s.port, 5))
        rc, took = s.stop(second_signal_after=second)
        report("2", variant="blocked day path, 5 stalled streams" +
               (f", 2nd SIGTERM at {second}s" if second else ""), drain_seconds=drain,
               stop_seconds=took, exit=rc, last_log_line=s.tail(1).strip()[-200:])
        for _, w in conns:
            w.close()
        loop.close()
    up.close()
    s = blocked_server(10, fifo=True)
    statuses = [one_request(s.port, chat_body(), timeout=10)[0] for _ in range(5)]
    time.sleep(0.5)
    rc, took = s.stop()
    report("2", variant="FIFO as data.jsonl (no reader)", drain_seconds=10,
           answers=statuses, stop_seconds=took, exit=rc, last_log_line=s.tail(1).strip()[-200:])


# ------------------------------------------------------------------ 3: connections, memory

def open_many(port, n, send=b"", timeout=3):
    socks, failed = [], 0
    for _ in range(n):
        s = socket.socket()
        s.settimeout(timeout)
        try:
            s.connect(("127.0.0.1", port))
            if send:
                s.sendall(send)
            socks.append(s)
        except OSError:
            failed += 1
            s.close()
    return socks, failed


def closed_by_server(socks):
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def timed_request(port, timeout=90):
    t0 = time.time()
    try:
        st = one_request(port, chat_body(), timeout=timeout)[0]
    except Exception as e:  # noqa: BLE001
        st = type(e).__name__
    return st, round(time.time() - t0, 2)


def case3_slowloris(header_timeout=5):
    s = Server(workdir("c3a"), args=["--header-read-timeout-seconds", str(header_timeout)])
    socks, failed = open_many(s.port, 1000, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    t0 = time.time()
    stop = threading.Event()

    def drip():  # one header byte per second on every connection
        while not stop.is_set():
            for k in socks:
                try:
                    k.send(b"X")
                except OSError:
                    pass
            time.sleep(1)
    threading.Thread(target=drip, daemon=True).start()
    all_closed_at = None
    while time.time() - t0 < header_timeout * 4 + 10:
        time.sleep(1)
        if closed_by_server(socks) == len(socks):
            all_closed_at = round(time.time() - t0, 1)
            break
    stop.set()
    closed = closed_by_server(socks)
    report("3", variant="1000 slowloris", header_timeout=header_timeout, connected=len(socks),
           connect_failed=failed, closed_by_server=closed, all_closed_after_s=all_closed_at,
           closed_metric=s.metric("micromodel_connections_closed_total", {"reason": "header_timeout"}))
    for k in socks:
        k.close()
    s.kill()


def case3_idle10k():
    s = Server(workdir("c3b"), args=["--max-connections", "1000"])
    socks, failed = open_many(s.port, 10_000, timeout=2)
    time.sleep(2)
    open_metric = s.metric("micromodel_connections_open")
    st, took = timed_request(s.port, timeout=10)
    report("3", variant="10k idle, --max-connections 1000", client_connected=len(socks),
           connect_failed=failed, server_connections_open=open_metric,
           limit_reached=s.metric("micromodel_connection_limit_reached_total"),
           real_request=st, real_request_s=took, server_alive=s.proc.poll() is None)
    for k in socks:
        k.close()
    s.kill()


def case3_fd512(kind):
    s = Server(workdir("c3c"), nofile=512)
    if kind == "keepalive":  # each connection has served one request and is idle
        socks = []
        for _ in range(600):
            k = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            try:
                k.sendall(request_bytes("POST", "/v1/chat/completions", chat_body(), s.port))
                k.recv(65536)
            except OSError:
                pass
            socks.append(k)
        failed = 0
    else:
        socks, failed = open_many(s.port, 600)
    time.sleep(1)
    results = [timed_request(s.port, timeout=90) for _ in range(5)]
    report("3", variant=f"ulimit -n 512, 600 {kind} idle connections, 5 real requests",
           connected=len(socks), connect_failed=failed, real_requests=results,
           max_connections_default=(512 - 64) // 2,
           open_metric=s.metric("micromodel_connections_open"),
           evicted=s.metric("micromodel_connections_closed_total", {"reason": "evicted"}))
    for k in socks:
        k.close()
    s.kill()


def case3_bodies():
    up = Upstream()
    s = Server(workdir("c3d"), "serve", serve_config(up.url))
    body = chat_body("ok", "a" * (60 * MIB))

    async def send_all():
        async def one():
            r, w = await asyncio.open_connection("127.0.0.1", s.port)
            w.write(request_bytes("POST", "/v1/chat/completions", body, s.port, "Connection: close\r\n"))

            async def send():
                try:
                    await w.drain()
                except OSError:
                    pass  # refused before the whole body was sent
            sender = asyncio.ensure_future(send())
            try:  # read while sending, as curl does, so an early 503 is seen
                st, _, _ = await asyncio.wait_for(__import__("common").read_response(r), 120)
            except Exception as e:  # noqa: BLE001
                st = type(e).__name__
            sender.cancel()
            w.close()
            return st
        return await asyncio.gather(*(one() for _ in range(16)))
    statuses = asyncio.run(send_all())
    counts = {str(k): statuses.count(k) for k in set(statuses)}
    body503 = one_request(s.port, chat_body("ok", "a" * (60 * MIB)))  # warm: a lone one fits
    report("3", variant="16 concurrent 60 MiB bodies (--max-buffered-bytes 256 MiB)",
           statuses=counts, lone_request=body503[0], peak_rss_mib=round(s.vmhwm_kib() / 1024),
           rejected_metric=s.metric("micromodel_requests_rejected_total", {"reason": "buffered_bytes"}))
    s.kill()
    up.close()


def case3():
    case3_slowloris()
    case3_idle10k()
    case3_fd512("keepalive")
    case3_fd512("silent")
    case3_bodies()


# ------------------------------------------------------------------ 4: hostile upstream

def case4():
    up = Upstream()
    for model, stream in (("longline", True), ("noblank", True), ("bigjson", False)):
        s = Server(workdir("c4"), "serve", serve_config(up.url))
        t0 = time.time()
        st, n, _ = one_request(s.port, chat_body(model, stream=stream), timeout=600)
        report("4", variant=model, status=st, bytes_to_client=n, seconds=round(time.time() - t0, 1),
               peak_rss_mib=round(s.vmhwm_kib() / 1024),
               too_large=s.metric("micromodel_records_dropped_total", {"reason": "too_large"}))
        s.kill()
    case4_choices(up)
    case4_concurrent(up)
    up.close()


def case4_choices(up=None):
    up = up or Upstream()
    s = Server(workdir("c4"), "serve", serve_config(up.url))
    load = Load(s.port, conns=8, body=chat_body("ok")).start()
    time.sleep(1)
    st, n, _ = one_request(s.port, chat_body("choices100k"), timeout=120)
    time.sleep(2)
    load.stop()
    time.sleep(1)
    m = {r: s.metric("micromodel_records_dropped_total", {"reason": r})
         for r in ("unexpected_choice", "queue_full", "too_large")}
    written = s.metric("micromodel_records_written_total")
    rss = round(s.vmhwm_kib() / 1024)
    rc, _ = s.stop()
    report("4", variant="100,000 choices for n=1, with 8 conns of other load", status=st,
           answer_bytes=n, peak_rss_mib=rss, dropped=m, other_answers_2xx=load.ok,
           written=written, lines=s.all_lines("w"), exit=rc)


def case4_concurrent(up=None, n=16):
    """n streams at once, each a 64 MiB line without a newline: the limit is per answer."""
    up = up or Upstream()
    s = Server(workdir("c4"), "serve", serve_config(up.url))
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        one_request(s.port, chat_body("longline64", stream=True), timeout=600)[0])) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report("4", variant=f"{n} concurrent streams, each a 64 MiB line without newline",
           statuses=results, peak_rss_mib=round(s.vmhwm_kib() / 1024),
           too_large=s.metric("micromodel_records_dropped_total", {"reason": "too_large"}))
    s.kill()


# ------------------------------------------------------------------ 5: secrets in logs

SECRET = "sk-PROBESECRET42"
BAD_HOSTS = [f"http://user:{SECRET}@ho`st:1", f"ftp://user:{SECRET}@host", f"http://user:{SECRET}@host:99999",
             f"http://user:{SECRET}@", f"http://user:{SECRET}@host/<x>", f"user:{SECRET}@host",
             f"http://{SECRET}@[::1", f"http://user:{SECRET}@ho st"]


def case5():
    up = Upstream()
    s = Server(workdir("c5"), "serve", serve_config(up.url), rust_log="trace")
    port = s.port
    for i, host in enumerate(BAD_HOSTS):
        before = s.metric("micromodel_config_reloads_total")
        with open(s.config_path, "w") as f:
            json.dump({"w": {"OPENAI_API_HOST": host, "PORT": port}}, f)
        deadline = time.time() + 10
        while time.time() < deadline and s.metric("micromodel_config_reloads_total") == before:
            time.sleep(0.1)
    rejected = s.metric("micromodel_config_reloads_total", {"result": "rejected"})
    # a valid config with credentials towards an unreachable upstream: 502 path
    applied = s.metric("micromodel_config_reloads_total", {"result": "applied"})
    with open(s.config_path, "w") as f:
        json.dump({"w": {"OPENAI_API_HOST": f"http://user:{SECRET}@127.0.0.1:1", "PORT": port}}, f)
    deadline = time.time() + 15
    while time.time() < deadline and \
            s.metric("micromodel_config_reloads_total", {"result": "applied"}) == applied:
        time.sleep(0.1)
    st, _, _ = one_request(port, chat_body("ok"))
    body = b""
    try:
        with socket.create_connection(("127.0.0.1", port)) as k:
            k.sendall(request_bytes("POST", "/v1/chat/completions", chat_body("ok"), port, "Connection: close\r\n"))
            while chunk := k.recv(65536):
                body += chunk
    except OSError:
        pass
    rc, _ = s.stop()
    log = s.log_text()
    check_hits = 0
    for host in BAD_HOSTS:
        p = os.path.join(s.root, "check.json")
        with open(p, "w") as f:
            json.dump({"w": {"OPENAI_API_HOST": host, "PORT": 1}}, f)
        r = subprocess.run([BIN, "check", "--config", p], capture_output=True, env={**os.environ, "RUST_LOG": "trace"})
        check_hits += (r.stdout + r.stderr).decode(errors="replace").count(SECRET)
    report("5", bad_configs=len(BAD_HOSTS), reloads_rejected=rejected, log_lines=log.count("\n"),
           secret_in_log=log.count(SECRET), secret_in_check_output=check_hits,
           secret_in_502_body=body.decode(errors="replace").count(SECRET), status_after_cred_config=st,
           redacted_seen=log.count("user:***") + log.count("***@"))
    up.close()


# ------------------------------------------------------------------ 6: unrecordable lines

def case6():
    up = Upstream()
    s = Server(workdir("c6"), "serve", serve_config(up.url))
    deep = "[" * 200 + "]" * 200
    bodies = {
        "lone high surrogate": '{"model":"ok","messages":[{"role":"user","content":"a\\ud800b"}]}',
        "lone low surrogate": '{"model":"ok","messages":[{"role":"user","content":"\\udc00"}]}',
        "high then not low": '{"model":"ok","messages":[{"role":"user","content":"\\ud83dx"}]}',
        "valid pair": '{"model":"ok","messages":[{"role":"user","content":"\\ud83d\\ude00"}]}',
        "deep content": '{"model":"ok","messages":[{"role":"user","content":' + deep + "}]}",
        "deep tools": '{"model":"ok","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":' + deep + "}}]}",
        "1e400 in tools": '{"model":"ok","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"maximum":1e400}}}]}',
        "400-digit int": '{"model":"ok","messages":[{"role":"user","content":"x","weight":' + "9" * 400 + "}]}",
        "no role": '{"model":"ok","messages":[{"content":"hi"}]}',
        "role not string": '{"model":"ok","messages":[{"role":5,"content":"hi"}]}',
        "tools not array": '{"model":"ok","messages":[{"role":"user","content":"x"}],"tools":{}}',
        "answer surrogate": '{"model":"raw_surrogate","messages":[{"role":"user","content":"x"}]}',
        "answer role user": '{"model":"raw_role_user","messages":[{"role":"user","content":"x"}]}',
        "answer content number": '{"model":"raw_content_num","messages":[{"role":"user","content":"x"}]}',
        "answer usage 1e400": '{"model":"raw_big_number","messages":[{"role":"user","content":"x"}]}',
        "answer deep tool_calls": '{"model":"raw_deep_answer","messages":[{"role":"user","content":"x"}]}',
        "stream surrogate": '{"model":"sse_surrogate","stream":true,"messages":[{"role":"user","content":"x"}]}',
        "stream split pair": '{"model":"sse_pair","stream":true,"messages":[{"role":"user","content":"x"}]}',
    }
    statuses = {k: one_request(s.port, v.encode())[0] for k, v in bodies.items()}
    time.sleep(1)
    unrec = s.metric("micromodel_records_dropped_total", {"reason": "unrecordable"})
    unpars = s.metric("micromodel_records_dropped_total", {"reason": "unparsable"})
    rc, _ = s.stop()
    v = subprocess.run([BIN, "validate", "--data-dir", s.data], capture_output=True)
    e = subprocess.run([BIN, "export", "--format", "openai", "--data-dir", s.data,
                        "--out", os.path.join(s.root, "out.jsonl")], capture_output=True)
    report("6", statuses=statuses, lines_written=s.all_lines("w"), unrecordable=unrec,
           unparsable=unpars, validate_exit=v.returncode,
           validate_output=(v.stdout + v.stderr).decode(errors="replace")[-600:],
           export_exit=e.returncode, export_summary=(e.stdout + e.stderr).decode(errors="replace")[-600:])
    up.close()


# ------------------------------------------------------------------ 7: paths and hosts

def case7():
    up = Upstream()
    s = Server(workdir("c7"), "serve", serve_config(up.url))
    paths = ["/v1/%2e%2e/secret", "/v1/%2E%2E/secret", "/v1/.%2e/secret", "/v1/%2e./secret",
             "/v1/models/%2e%2e/%2e%2e/secret", "/v1/../secret", "/v1/%2e%2e%2fsecret",
             "/v1/%252e%252e/secret", "/v1/models"]
    result = {}
    for p in paths:
        before = len(up.paths)
        st = one_request(s.port, b"", path=p, method="GET")[0]
        result[p] = {"status": st, "upstream_saw": up.paths[before:]}
    s.kill()
    up.close()
    checks = {}
    hosts = {"valid (control)": "http://localhost:1"}
    for ch in ["`", "<", ">", " ", '"', "{", "|", "^", "\\"]:
        hosts[f"host {ch}"] = f"http://local{ch}host:1"
    for ch in ["`", "<", ">"]:
        hosts[f"path {ch}"] = f"http://localhost:1/a{ch}b"
    for name, host in hosts.items():
        p = os.path.join(s.root, "check.json")
        with open(p, "w") as f:
            json.dump({"w": {"OPENAI_API_HOST": host, "PORT": 1}}, f)
        checks[name] = subprocess.run([BIN, "check", "--config", p], capture_output=True).returncode
    report("7", paths=result, check_exit_by_char=checks)


# ------------------------------------------------------------------ 8: admin stop, chunked

def case8():
    s = Server(workdir("c8"))
    s.metrics()
    bad = {
        "chat, bad chunk size": ("/v1/chat/completions", b"zz\r\nhello\r\n0\r\n\r\n"),
        "chat, chunk longer than said": ("/v1/chat/completions", b"2\r\nhello\r\n0\r\n\r\n"),
        "pass-through, bad chunk size": ("/v1/embeddings", b"zz\r\nhello\r\n0\r\n\r\n"),
    }
    statuses = {}
    for name, (path, body) in bad.items():
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n").encode()
        out = raw_exchange(s.port, head + body, timeout=5)
        statuses[name] = out.split(b"\r\n", 1)[0].decode(errors="replace")
    rejected = s.metric("micromodel_requests_rejected_total", {"reason": "body_read_failed"})
    upstream_errors = s.metric("micromodel_upstream_errors_total")
    rc, took = s.stop()
    report("8", bad_chunked=statuses, body_read_failed=rejected, upstream_errors=upstream_errors,
           drain_limit_lines=s.log_text().count("Drain limit reached"), exit=rc, stop_seconds=took)


# ------------------------------------------------------------------ 9: watcher feedback

def case9():
    for rust_log in ("trace", "trace,notify=trace"):
        case9_one(rust_log)


def case9_one(rust_log):
    root = workdir("c9")
    log = os.path.join(root, "conf", "micromodel.log")
    os.makedirs(os.path.dirname(log))
    s = Server(root, rust_log=rust_log, log_name=log)
    size0 = os.path.getsize(log)
    time.sleep(4)
    size1 = os.path.getsize(log)
    with open(os.path.join(root, "conf", "other.txt"), "w") as f:  # another file of the folder
        f.write("x")
    time.sleep(1)
    size2 = os.path.getsize(log)
    lines = count_lines([log])
    s.kill()
    report("9", rust_log=rust_log, log_bytes_at_ready=size0, log_bytes_after_4s=size1, growth_4s=size1 - size0,
           after_touching_other_file=size2 - size1, log_lines=lines)


# ------------------------------------------------------------------ happy paths

def happy_sigterm():
    s = Server(workdir("h1"))
    load = Load(s.port, conns=64).start()
    time.sleep(5)
    rc, took = s.stop()
    load.stop()
    lines = s.all_lines()
    report("happy", variant="SIGTERM under load (64 conns)", answers_2xx=load.ok, lines=lines,
           lost=max(0, load.ok - lines), exit=rc, stop_seconds=took, load=load.summary())


def happy_reloads(n=100):
    s = Server(workdir("h2"))
    with open(s.config_path) as f:
        cfg = json.load(f)
    load = Load(s.port, conns=32).start()
    time.sleep(1)
    extra_port = free_port()
    waited_out = 0
    for i in range(n):
        cfg["demo"]["TIMEOUT_SECONDS"] = 60 + (i % 2)
        if i % 2:  # every other reload also starts / stops a second workflow
            cfg["extra"] = {"OPENAI_API_HOST": cfg["demo"]["OPENAI_API_HOST"], "PORT": extra_port}
        else:
            cfg.pop("extra", None)
        applied = s.metric("micromodel_config_reloads_total", {"result": "applied"})
        with open(s.config_path, "w") as f:  # written in place, as an editor would
            json.dump(cfg, f, indent=2)
        deadline = time.time() + 5  # one reload per write: wait for it (debounce is 300 ms)
        while s.metric("micromodel_config_reloads_total", {"result": "applied"}) == applied:
            if time.time() > deadline:
                waited_out += 1
                break
            time.sleep(0.05)
    time.sleep(1)
    load.stop()
    reloads = {r: s.metric("micromodel_config_reloads_total", {"result": r})
               for r in ("applied", "unchanged", "rejected", "rolled_back")}
    rc, _ = s.stop()
    failed = sum(v for k, v in load.status.items() if not 200 <= k < 300) + sum(load.errors.values())
    report("happy", variant=f"{n} config writes under load (32 conns)", requests=load.ok + failed,
           failed=failed, reloads_metric=reloads, writes_without_reload=waited_out, load=load.summary(), exit=rc)


def case3_timeouts():
    """Body-read and keep-alive idle timeouts, and a silent-connection flood on the admin port."""
    s = Server(workdir("c3f"), args=["--body-read-timeout-seconds", "3", "--idle-timeout-seconds", "3"])
    t0 = time.time()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n{\"model\":").encode()
    out = raw_exchange(s.port, head, timeout=20)
    body_status, body_s = out.split(b"\r\n", 1)[0].decode(errors="replace"), round(time.time() - t0, 1)
    k = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    k.sendall(request_bytes("POST", "/v1/chat/completions", chat_body(), s.port))
    k.recv(65536)
    t0 = time.time()
    try:
        while k.recv(65536):
            pass
        idle_closed = round(time.time() - t0, 1)
    except OSError as e:
        idle_closed = type(e).__name__
    k.close()
    flood, _ = open_many(s.admin_port, 200)
    t0 = time.time()
    try:
        s.metrics()
        scrape = "ok"
    except Exception as e:  # noqa: BLE001
        scrape = type(e).__name__
    report("3", variant="timeouts: body 3 s, idle 3 s; 200 silent conns on admin (header timeout 30 s)",
           slow_body_answer=body_status, slow_body_after_s=body_s, idle_closed_after_s=idle_closed,
           admin_scrape_during_flood=scrape, admin_scrape_s=round(time.time() - t0, 1))
    for f in flood:
        f.close()
    s.kill()


def happy_kill9():
    s = Server(workdir("h3"))
    load = Load(s.port, conns=64).start()
    time.sleep(5)
    t_kill = time.time()
    s.proc.kill()
    s.proc.wait()
    load.stop()
    lines = s.all_lines()
    late = sum(1 for t in load.ok_times if t > t_kill - 0.015)
    lost = max(0, load.ok - lines)
    times = sorted(load.ok_times)
    # how long before the kill the oldest of the `lost` most recent answers completed (<= 0:
    # every lost answer reached the client after kill() was called, i.e. was in flight)
    window = round((t_kill - times[-lost]) * 1000, 1) if lost else 0
    report("happy", variant="kill -9 under load (64 conns)", answers_2xx=load.ok, lines=lines,
           lost=lost, answers_in_last_15ms_before_kill=late,
           lost_fit_in_last_ms_before_kill=window,
           answers_received_after_kill=sum(1 for t in times if t >= t_kill))


CASES = {"1": case1, "2": case2, "3": case3, "4": case4, "5": case5, "6": case6, "7": case7,
         "8": case8, "9": case9, "happy_sigterm": happy_sigterm, "happy_reloads": happy_reloads,
         "3a": case3_slowloris, "3b": case3_idle10k, "3c": lambda: case3_fd512("keepalive"),
         "3c2": lambda: case3_fd512("silent"), "3d": case3_bodies, "4b": case4_choices,
         "4c": case4_concurrent, "3e": case3_timeouts, "happy_kill9": happy_kill9}

if __name__ == "__main__":
    if not os.path.exists(BIN):
        sys.exit(f"build first: cargo build --release --locked ({BIN} missing)")
    names = sys.argv[1:] or ["all"]
    if names == ["all"]:
        names = ["1", "2", "3", "3e", "4", "5", "6", "7", "8", "9", "happy_sigterm",
                 "happy_reloads", "happy_kill9"]
    for name in names:
        CASES[name]()
