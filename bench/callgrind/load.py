import http.client, json, sys, time
port = int(sys.argv[1]); n = int(sys.argv[2]); stream = len(sys.argv) > 3 and sys.argv[3] == "stream"
body = json.dumps({"model": "demo", "temperature": 0.2, "max_tokens": 64, "seed": 7,
                   "messages": [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Tell me a story about a proxy"}],
                   "stream": stream}).encode()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
ok = 0
for i in range(n):
    c.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
    r = c.getresponse(); r.read()
    ok += r.status == 200
print(ok)
