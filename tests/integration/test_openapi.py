"""GET /api/v1/openapi.json against the real server: the document is OpenAPI 3.x, documents
exactly the routes the server answers, and every answer the server gives is one it documents.

Each documented GET is called with no parameters, with each parameter's example, with every
enum value and with an out-of-range value, following cursors to the end; each answer's status
must be documented for that operation, its Content-Type one the document lists, its documented
headers present (ETag, WWW-Authenticate), and its JSON body valid against the schema given for
that status (a small validator below for the JSON Schema subset the document uses; it refuses any
keyword it does not know, so the document cannot lean on a check nobody runs). Then the
If-None-Match 304s, the `rul` and `alert` events of the stream against x-events, the error
answers (400, 401, 403, 404, 409) and successes of both POST routes (acknowledgement, maintenance
and failure events) and, after a restart with http.require_auth_for_reads, the 401 on every read
while the probes, the dashboard and the document stay open."""
import http.client
import json
import os
import re
import socket
import threading
import time

from durability import make_fleet, wait_exactly_predict
from harness import Stack, check, parse_args, run_test

OPERATOR = "op-" + os.urandom(12).hex()
VIEWER = "view-" + os.urandom(12).hex()

# Every (path, method) that rest_api::route answers, as OpenAPI path templates. A route added
# to the server without a line here and in src/app/openapi.cpp fails this test.
SERVED = {
    ("/healthz", "get"), ("/readyz", "get"), ("/metrics", "get"), ("/", "get"), ("/index.html", "get"),
    ("/api/v1/openapi.json", "get"), ("/api/v1/fleet", "get"),
    ("/api/v1/assets", "get"), ("/api/v1/assets/{id}", "get"), ("/api/v1/assets/{id}/history", "get"),
    ("/api/v1/assets/{id}/events", "post"),
    ("/api/v1/alerts", "get"), ("/api/v1/alerts/{id}", "get"), ("/api/v1/alerts/{id}/ack", "post"),
    ("/api/v1/stream", "get"),
    ("/api/v1/models", "get"), ("/api/v1/models/shadow/report", "get"), ("/api/v1/models/promote", "post"),
    ("/api/v1/models/rollback", "post"),
    ("/api/v1/fleet/forecast", "get"), ("/api/v1/fleet/plan", "get"), ("/api/v1/scenarios", "post"),
}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# ---- A validator for the JSON Schema subset of OpenAPI 3.0 that the document uses -----------

ANNOTATIONS = {"description", "example", "default", "format", "title"}
ASSERTIONS = {"$ref", "type", "nullable", "enum", "properties", "required", "additionalProperties", "items", "allOf",
              "minimum", "maximum", "maxLength", "pattern"}


class Validator:
    def __init__(self, doc):
        self.doc = doc

    def resolve(self, node):
        """Follows $ref (local "#/..." only) until a node without one."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            check(ref.startswith("#/"), f"only local $ref supported: {ref}")
            target = self.doc
            for part in ref[2:].split("/"):
                check(isinstance(target, dict) and part in target, f"$ref {ref} does not resolve")
                target = target[part]
            node = target
            seen += 1
            check(seen < 20, f"$ref loop at {ref}")
        return node

    def errors(self, value, schema, where="$"):
        """Every way `value` breaks `schema`, as 'where: what' strings."""
        out = []
        self._check(value, schema, where, out)
        return out

    def _check(self, value, schema, where, out):
        unknown = set(schema) - ANNOTATIONS - ASSERTIONS
        check(not unknown, f"schema at {where} uses {sorted(unknown)}, which this validator does not check")
        if "$ref" in schema:
            # OpenAPI 3.0: siblings of $ref are ignored, so the document must not rely on them.
            check(set(schema) <= {"$ref"} | ANNOTATIONS, f"$ref with asserting siblings at {where}: {schema}")
            return self._check(value, self.resolve(schema), where, out)
        if value is None:
            if not schema.get("nullable", False):
                out.append(f"{where}: null, but the schema is not nullable")
            return
        for sub in schema.get("allOf", []):
            self._check(value, sub, where, out)
        t = schema.get("type")
        if t is not None and not type_matches(value, t):
            out.append(f"{where}: {json.dumps(value)[:80]} is not of type {t}")
            return
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{where}: {value!r} not in {schema['enum']}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                out.append(f"{where}: {value} < minimum {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                out.append(f"{where}: {value} > maximum {schema['maximum']}")
        if isinstance(value, str):
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                out.append(f"{where}: longer than {schema['maxLength']}")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                out.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    out.append(f"{where}: required '{name}' missing")
            extra = schema.get("additionalProperties", True)
            for name, v in value.items():
                if name in props:
                    self._check(v, props[name], f"{where}.{name}", out)
                elif extra is False:
                    out.append(f"{where}: '{name}' is not documented (additionalProperties: false)")
                elif isinstance(extra, dict):
                    self._check(v, extra, f"{where}.{name}", out)
        if isinstance(value, list) and "items" in schema:
            for i, v in enumerate(value):
                self._check(v, schema["items"], f"{where}[{i}]", out)


def type_matches(value, t):
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return {"string": str, "boolean": bool, "object": dict, "array": list}[t] is type(value)


def walk(node, path="#"):
    """(json pointer, dict) for every object in the document."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}/{i}")


# ---- HTTP -------------------------------------------------------------------------------------

class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body  # headers: lower-case names

    @property
    def media_type(self):
        return self.headers.get("content-type", "").split(";")[0].strip()

    def __repr__(self):
        return f"{self.status} {self.body[:200]!r}"


def call(st, method, target, token=None, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", st.http_port, timeout=15)
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    try:
        conn.request(method, target, body=data, headers=h)
        r = conn.getresponse()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace"))
    finally:
        conn.close()


class Conformance:
    """Checks answers against the document and counts what it checked."""

    def __init__(self, doc):
        self.doc = doc
        self.v = Validator(doc)
        self.checked = 0
        self.statuses = set()  # (path, method, status) seen

    def operation(self, path, method):
        return self.doc["paths"][path][method]

    def expect(self, path, method, answer, statuses=None, what=""):
        """The answer's status is documented for the operation (and in `statuses` if given), and
        its headers, media type and body are the documented ones. Returns the parsed JSON body."""
        label = f"{method.upper()} {path} {what}".strip()
        if statuses is not None:
            check(answer.status in statuses, f"{label}: expected {sorted(statuses)}, got {answer}")
        responses = self.operation(path, method)["responses"]
        documented = responses.get(str(answer.status), responses.get("default"))
        check(documented is not None, f"{label}: status {answer.status} is not documented ({sorted(responses)}): {answer}")
        documented = self.v.resolve(documented)
        for name in documented.get("headers", {}):
            if name == "ETag" and answer.media_type != "application/json":
                continue  # rest_api tags JSON answers only (the forecast's CSV has none)
            check(name.lower() in answer.headers, f"{label}: documented header {name} missing from the {answer.status} answer")
        content = documented.get("content")
        self.checked += 1
        self.statuses.add((path, method, answer.status))
        if not content:
            check(answer.body == "", f"{label}: {answer.status} documents no body but got {answer.body[:100]!r}")
            return None
        check(answer.media_type in content, f"{label}: Content-Type {answer.media_type!r} not in {sorted(content)}")
        if answer.media_type != "application/json":
            return answer.body
        value = json.loads(answer.body)
        errs = self.v.errors(value, content["application/json"]["schema"])
        check(not errs, f"{label} -> {answer.status}: body does not match its schema:\n  " + "\n  ".join(errs[:15]))
        return value


# ---- The event stream -------------------------------------------------------------------------

class StreamRecorder:
    """GET /api/v1/stream on a raw socket; a thread keeps every byte of the body until closed."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            check(chunk, "the stream closed before its header")
            buf += chunk
        head, _, self.raw = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1])
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.lock = threading.Lock()
        self.sock.settimeout(None)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                return
            with self.lock:
                self.raw += data

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)

    def events(self):
        """[(event, data text)] from the complete chunks received so far."""
        with self.lock:
            raw = self.raw
        body = b""
        while True:
            eol = raw.find(b"\r\n")
            if eol < 0:
                break
            size = int(raw[:eol].split(b";")[0], 16)
            if size == 0 or len(raw) < eol + 2 + size + 2:
                break
            body += raw[eol + 2:eol + 2 + size]
            raw = raw[eol + 2 + size + 2:]
        out = []
        for block in body.decode("utf-8").split("\n\n"):
            event, data = None, []
            for line in block.split("\n"):
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
            if event is not None:
                out.append((event, "\n".join(data)))
        return out


# ---- The test ---------------------------------------------------------------------------------

def check_document(doc):
    """Structure: OpenAPI 3.x, every $ref resolves, unique operationIds, path parameters declared,
    security schemes defined, examples valid against their own schemas."""
    check(isinstance(doc.get("openapi"), str) and doc["openapi"].startswith("3."), f"openapi: {doc.get('openapi')!r}")
    check(doc.get("info", {}).get("title") and doc["info"].get("version"), f"info: {doc.get('info')}")
    v = Validator(doc)
    for where, node in walk(doc):
        if "$ref" in node and isinstance(node["$ref"], str):
            v.resolve(node)
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    check(scheme == {**scheme, "type": "http", "scheme": "bearer"}, f"bearerAuth: {scheme}")
    ids = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            check(method in METHODS, f"{path}: {method} is not an HTTP method")
            ids.append(op["operationId"])
            check(op.get("responses"), f"{method} {path}: no responses")
            for code in op["responses"]:
                check(code == "default" or re.fullmatch(r"[1-5][0-9][0-9]", code), f"{method} {path}: response {code}")
            params = [v.resolve(p) for p in op.get("parameters", [])]
            conditional = any(p["in"] == "header" and p["name"] == "If-None-Match" for p in params)
            check(conditional == ("304" in op["responses"]), f"{method} {path}: If-None-Match and 304 go together")
            for name in re.findall(r"{(\w+)}", path):
                check(any(p["in"] == "path" and p["name"] == name and p.get("required") for p in params),
                      f"{method} {path}: path parameter {name} not declared")
            for p in params:
                if "example" in p:
                    errs = v.errors(p["example"], p["schema"])
                    check(not errs, f"{method} {path}: example of {p['name']}: {errs}")
            for req in op.get("security", []):
                for name in req:
                    check(name in doc["components"]["securitySchemes"], f"{method} {path}: unknown scheme {name}")
    check(len(ids) == len(set(ids)), f"duplicate operationIds: {sorted(ids)}")
    for name, schema in doc["components"]["schemas"].items():
        check_keywords(schema, f"#/components/schemas/{name}")


def check_keywords(schema, where):
    """Every keyword of the schema and its subschemas is one the validator checks or an annotation."""
    unknown = set(schema) - ANNOTATIONS - ASSERTIONS
    check(not unknown, f"{where} uses {sorted(unknown)}, which this validator does not check")
    for name, sub in schema.get("properties", {}).items():
        check_keywords(sub, f"{where}/properties/{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            check_keywords(schema[key], f"{where}/{key}")
    for i, sub in enumerate(schema.get("allOf", [])):
        check_keywords(sub, f"{where}/allOf/{i}")


def query_string(params):
    return "&".join(f"{k}={v}" for k, v in params.items())


def check_get(st, c, path, concrete, ids_seen):
    """Calls GET `concrete` (the path with its ids filled in) with no parameter, each example,
    every enum value and a value out of range; follows cursors; checks the 304."""
    v = c.v
    op = c.operation(path, "get")
    params = [v.resolve(p) for p in op.get("parameters", [])]
    query = [p for p in params if p["in"] == "query"]
    first = call(st, "GET", concrete)
    body = c.expect(path, "get", first, {200, 503} if path == "/readyz" else {200})
    if "etag" in first.headers:
        again = call(st, "GET", concrete, headers={"If-None-Match": first.headers["etag"]})
        c.expect(path, "get", again, {304}, "If-None-Match")
        again = call(st, "GET", concrete, headers={"If-None-Match": 'W/"0000000000000000"'})
        c.expect(path, "get", again, {first.status}, "stale If-None-Match")
    variants = []
    for p in query:
        schema = v.resolve(p["schema"])
        if "example" in p:
            variants.append(({p["name"]: p["example"]}, {200}))
        for value in schema.get("enum", []):
            variants.append(({p["name"]: value}, {200}))
        if "enum" in schema:
            variants.append(({p["name"]: "no-such-value"}, {400}))
        if "maximum" in schema:
            variants.append(({p["name"]: schema["maximum"] + 1}, {400}))
        if "minimum" in schema:
            variants.append(({p["name"]: schema["minimum"] - 1}, {400}))
        if schema.get("type") in ("integer", "number"):
            variants.append(({p["name"]: "x1"}, {400}))
    examples = {p["name"]: p["example"] for p in query if "example" in p and p["name"] != "asset"}
    if len(examples) > 1:
        variants.append((examples, {200}))
    for q, statuses in variants:
        answer = call(st, "GET", f"{concrete}?{query_string(q)}")
        c.expect(path, "get", answer, statuses, query_string(q))
    if any(p["name"] == "cursor" for p in query):
        # Every page of the whole listing, 5 at a time.
        items, cursor, pages = [], None, 0
        while True:
            target = f"{concrete}?limit=5" + (f"&cursor={cursor}" if cursor else "")
            page = c.expect(path, "get", call(st, "GET", target), {200}, "paging")
            items += page["items"]
            cursor = page["next_cursor"]
            pages += 1
            check(pages < 1000, f"{path}: paging does not end")
            if cursor is None:
                break
        ids = [i["id"] for i in items]
        check(len(ids) == len(set(ids)), f"{path}: a page repeats an item")
        ids_seen[path] = ids
    return body


def main():
    args = parse_args()
    env = dict(os.environ)
    env["TURBOTWIN_API_TOKENS"] = f"operator:{OPERATOR},viewer:{VIEWER}"
    with Stack(args.bin, args.source) as st:
        fleet, _, predicted = make_fleet(st, 12, 5)
        st.start_serve(env=env)
        stream = StreamRecorder(st.http_port)
        st.run("replay", fleet, "--broker", st.broker, "--speed", "max", "--quiet")
        problem = wait_exactly_predict(st, predicted)
        check(problem is None, problem)

        answer = call(st, "GET", "/api/v1/openapi.json")
        check(answer.status == 200 and answer.media_type == "application/json", f"openapi.json: {answer}")
        doc = json.loads(answer.body)
        check_document(doc)
        c = Conformance(doc)
        c.expect("/api/v1/openapi.json", "get", answer, {200})
        print(f"document: OpenAPI {doc['openapi']}, {len(doc['paths'])} paths, {len(doc['components']['schemas'])} schemas")

        documented = {(p, m) for p, item in doc["paths"].items() for m in item}
        check(documented == SERVED, f"documented but not served: {sorted(documented - SERVED)}; "
                                    f"served but not documented: {sorted(SERVED - documented)}")

        # Ids that exist: the parameter examples where the fleet has them, else the first listed.
        assets = st.all_assets()
        alerts = st.all_alerts()
        check(alerts, "the fleet raised no alert")
        asset_example = c.v.resolve(doc["components"]["parameters"]["AssetId"])["example"]
        alert_example = c.v.resolve(doc["components"]["parameters"]["AlertId"])["example"]
        asset_id = asset_example if any(a["id"] == asset_example for a in assets) else assets[0]["id"]
        alert_id = alert_example if any(a["id"] == alert_example for a in alerts) else alerts[0]["id"]

        def fill(path):
            return path.replace("{id}", alert_id if path.startswith("/api/v1/alerts/") else asset_id)

        # Every documented GET (the stream apart): parameters, enums, ranges, paging, 304.
        ids_seen = {}
        for path, method in sorted(documented):
            # The stream has its own check; the shadow report answers 200 only beside a shadow model (409 here, below).
            if method == "get" and path not in ("/api/v1/stream", "/api/v1/models/shadow/report"):
                check_get(st, c, path, fill(path), ids_seen)
        check(sorted(ids_seen["/api/v1/assets"]) == sorted(predicted), f"paging assets: {ids_seen['/api/v1/assets']}")
        check(len(ids_seen["/api/v1/alerts"]) == len(alerts), "paging alerts lost some")
        print(f"GET routes: {c.checked} answers valid against the document")

        # Documented errors on reads.
        c.expect("/api/v1/assets/{id}", "get", call(st, "GET", "/api/v1/assets/NO-SUCH-ENGINE"), {404}, "unknown asset")
        c.expect("/api/v1/assets/{id}/history", "get", call(st, "GET", "/api/v1/assets/NO-SUCH-ENGINE/history"), {404})
        c.expect("/api/v1/alerts/{id}", "get", call(st, "GET", "/api/v1/alerts/NO-SUCH-ENGINE-1"), {404}, "unknown alert")
        c.expect("/api/v1/alerts/{id}", "get", call(st, "GET", "/api/v1/alerts/not_an_alert_id"), {400})
        c.expect("/api/v1/assets/{id}/history", "get", call(st, "GET", f"{fill('/api/v1/assets/{id}/history')}?fields=nope"), {400})
        c.expect("/api/v1/assets/{id}/history", "get",
                 call(st, "GET", f"{fill('/api/v1/assets/{id}/history')}?from_cycle=9&to_cycle=3"), {400})
        c.expect("/api/v1/assets", "get", call(st, "GET", "/api/v1/assets?limit=0"), {400}, "bad limit")
        c.expect("/api/v1/assets", "get", call(st, "GET", "/api/v1/assets?sort=-risk&cursor=garbage"), {400}, "bad cursor")
        c.expect("/api/v1/alerts", "get", call(st, "GET", "/api/v1/alerts?cursor=garbage"), {400}, "bad cursor")
        c.expect("/api/v1/stream", "get", call(st, "GET", "/api/v1/stream?asset=bad%20id"), {400}, "bad asset")
        # Undocumented routes and methods still answer the Error document.
        error_schema = {"$ref": "#/components/schemas/Error"}
        for method, target, status in (("GET", "/api/v1/nope", 404), ("GET", "/api/v2/assets", 404),
                                       ("DELETE", "/api/v1/assets", 405), ("POST", "/healthz", 405),
                                       ("GET", "/api/v1/alerts/x-1/ack", 405)):
            a = call(st, method, target)
            check(a.status == status and a.media_type == "application/json", f"{method} {target}: {a}")
            errs = c.v.errors(json.loads(a.body), error_schema)
            check(not errs, f"{method} {target}: {errs}")
            if status == 405:
                check("allow" in a.headers, f"{method} {target}: 405 without Allow")

        # The stream: header as documented, every event it carried during the replay valid.
        stream_op = c.operation("/api/v1/stream", "get")
        ok = stream_op["responses"]["200"]
        check(stream.status == 200 and stream.headers.get("content-type", "").split(";")[0] in ok["content"],
              f"stream answered {stream.status} {stream.headers}")
        # Everything REST shows went out on the stream before (or as) REST saw it; allow a moment.
        deadline = time.time() + 10
        while True:
            events = stream.events()
            counts = {k: sum(1 for e, _ in events if e == k) for k in ("rul", "alert")}
            if (counts["rul"] >= sum(int(r["cycle"]) for r in predicted.values()) and counts["alert"] >= len(alerts)) \
                    or time.time() > deadline:
                break
            time.sleep(0.2)
        stream.close()
        kinds = {}
        for event, data in events:
            check(event in ok["x-events"], f"stream event {event!r} is not documented")
            errs = c.v.errors(json.loads(data), ok["x-events"][event])
            check(not errs, f"stream event {event}: {errs[:5]}\n  {data[:300]}")
            kinds[event] = kinds.get(event, 0) + 1
        check(kinds.get("rul", 0) == sum(int(r["cycle"]) for r in predicted.values()) and kinds.get("alert", 0) >= len(alerts),
              f"stream events: {kinds}, expected one rul per reading and at least one alert change per alert")
        print(f"stream: {kinds} events valid against x-events")

        # The model routes on a server without a shadow model: what it runs, and 409 for the rest.
        models = c.expect("/api/v1/models", "get", call(st, "GET", "/api/v1/models"), {200})
        check(models["shadow"] is None and models["audit"] == [] and not models["rollback_available"], f"models: {models}")
        c.expect("/api/v1/models/shadow/report", "get", call(st, "GET", "/api/v1/models/shadow/report"), {409}, "no shadow")
        for route in ("/api/v1/models/promote", "/api/v1/models/rollback"):
            c.expect(route, "post", call(st, "POST", route), {401}, "no token")
            c.expect(route, "post", call(st, "POST", route, token=VIEWER), {403}, "viewer")
            c.expect(route, "post", call(st, "POST", route, token=OPERATOR), {409}, "no shadow")

        # POST /api/v1/alerts/{id}/ack: every documented answer.
        ack = "/api/v1/alerts/{id}/ack"
        active = [a["id"] for a in alerts if a["state"] == "active"]
        check(active, "no active alert to acknowledge")
        target = f"/api/v1/alerts/{active[0]}/ack"
        body = {"comment": "borescope booked"}
        a = call(st, "POST", target, body=body)
        c.expect(ack, "post", a, {401}, "no token")
        check(a.headers["www-authenticate"].startswith("Bearer"), f"401 WWW-Authenticate: {a.headers}")
        c.expect(ack, "post", call(st, "POST", target, token="not-a-known-token-at-all", body=body), {401}, "unknown token")
        c.expect(ack, "post", call(st, "POST", target, token=VIEWER, body=body), {403}, "viewer")
        c.expect(ack, "post", call(st, "POST", target, token=OPERATOR, body={"comment": "x" * 2001}), {400}, "long comment")
        c.expect(ack, "post", call(st, "POST", target, token=OPERATOR, body=b"[1,2]"), {400}, "not an object")
        c.expect(ack, "post", call(st, "POST", "/api/v1/alerts/NO-SUCH-ENGINE-1/ack", token=OPERATOR, body=body), {404})
        done = c.expect(ack, "post", call(st, "POST", target, token=OPERATOR, body=body), {200}, "operator")
        check(done["state"] == "acknowledged" and done["acknowledged"]["comment"] == body["comment"], f"ack: {done}")
        c.expect(ack, "post", call(st, "POST", target, token=OPERATOR, body=body), {409}, "again")
        c.expect("/api/v1/alerts/{id}", "get", call(st, "GET", f"/api/v1/alerts/{active[0]}"), {200}, "acknowledged")
        print("ack: 401 (none, unknown), 403 (viewer), 400, 404, 200, 409 all as documented")

        # POST /api/v1/assets/{id}/events, on the last engine (it starts a new life).
        events_path = "/api/v1/assets/{id}/events"
        engine = sorted(predicted)[-1]
        last_cycle = int(predicted[engine]["cycle"])
        target = f"/api/v1/assets/{engine}/events"
        event = {"type": "maintenance", "cycle": last_cycle, "note": "HPC wash and blade inspection"}
        c.expect(events_path, "post", call(st, "POST", target, body=event), {401}, "no token")
        c.expect(events_path, "post", call(st, "POST", target, token=VIEWER, body=event), {403}, "viewer")
        c.expect(events_path, "post", call(st, "POST", target, token=OPERATOR, body={**event, "type": "overhaul"}), {400})
        c.expect(events_path, "post", call(st, "POST", target, token=OPERATOR, body={"type": "maintenance"}), {400})
        c.expect(events_path, "post", call(st, "POST", "/api/v1/assets/NO-SUCH-ENGINE/events", token=OPERATOR, body=event),
                 {404}, "unknown asset")
        c.expect(events_path, "post", call(st, "POST", target, token=OPERATOR, body={**event, "cycle": last_cycle - 1}),
                 {409}, "before the last reading")
        done = c.expect(events_path, "post", call(st, "POST", target, token=OPERATOR, body=event), {201}, "operator")
        check(done["event"]["type"] == "maintenance" and done["event"]["cycle"] == last_cycle
              and done["asset"]["id"] == engine, f"event answer: {done}")
        c.expect(events_path, "post", call(st, "POST", target, token=OPERATOR, body=event), {409}, "again")
        c.expect("/api/v1/assets/{id}", "get", call(st, "GET", f"/api/v1/assets/{engine}"), {200}, "after maintenance")
        # failure closes the twin (asset.closed), and clears the alert in force (cleared_alert).
        other = sorted(predicted)[-2]
        failure = {"type": "failure", "cycle": int(predicted[other]["cycle"]) + 1}
        done = c.expect(events_path, "post", call(st, "POST", f"/api/v1/assets/{other}/events", token=OPERATOR, body=failure),
                        {201}, "failure")
        check(done["asset"]["closed"] == {"type": "failure", "cycle": failure["cycle"]}, f"failure answer: {done}")
        c.expect(events_path, "post", call(st, "POST", f"/api/v1/assets/{other}/events", token=OPERATOR, body=failure),
                 {409}, "failure again")
        print(f"events: 401, 403, 400, 404, 409, 201, 409 all as documented (failure cleared "
              f"{done['cleared_alert']['id'] if done['cleared_alert'] else 'no alert'})")

        # The planning routes: a scenario (documented body) from any reader, and the errors of all three.
        scen = "/api/v1/scenarios"
        engines = sorted(predicted)
        scenario = {"baseline": {"cycles_per_day": 4, "visit_in_days": 60, "engines": {engines[0]: {"cycles_per_day": 6, "visit_in_days": 30}}},
                    "changes": [{"type": "utilisation", "asset": engines[0], "cycles_per_day": 8},
                                {"type": "defer_visit", "asset": engines[1], "cycles": 20},
                                {"type": "swap", "assets": [engines[0], engines[2]]},
                                {"type": "fleet_plan", "cycles_per_day": 5, "visit_in_days": 45}],
                    "horizon_days": 180}
        request_schema = c.operation(scen, "post")["requestBody"]["content"]["application/json"]["schema"]
        errs = c.v.errors(scenario, request_schema)
        check(not errs, f"the example scenario does not match ScenarioRequest: {errs}")
        done = c.expect(scen, "post", call(st, "POST", scen, body=scenario), {200}, "no token, reads open")
        planned = {e["asset"] for e in done["engines"]}
        # Planning sees engines in service with a reading in their current life: not the one just
        # failed, nor the one whose new life has no reading yet.
        check(planned == set(engines) - {engine, other} and done["engines_changed"] == len(planned),
              f"scenario over {sorted(planned)} ({done['engines_changed']} changed), expected all but {engine} and {other}")
        c.expect(scen, "post", call(st, "POST", scen, token=VIEWER, body=scenario), {200}, "viewer")
        c.expect(scen, "post", call(st, "POST", scen, body={"baselin": {}}), {400}, "unknown key")
        c.expect(scen, "post", call(st, "POST", scen, body=b"{\"changes\": ["), {400}, "not JSON")
        c.expect(scen, "post", call(st, "POST", scen, body={"changes": [{"type": "swap", "assets": [engines[0], "NO-SUCH-ENGINE"]}]}),
                 {404}, "unknown engine")
        a = call(st, "GET", scen)
        check(a.status == 405 and "POST" in a.headers.get("allow", ""), f"GET {scen}: {a}")
        for path in ("/api/v1/fleet/forecast", "/api/v1/fleet/plan"):
            c.expect(path, "get", call(st, "GET", f"{path}?overrides=NO-SUCH-ENGINE:3"), {404}, "unknown engine")
            c.expect(path, "get", call(st, "GET", f"{path}?overrides=garbage"), {400}, "bad override")
        print("planning: scenario 200 (anonymous, viewer), 400, 404; forecast and plan 404 and 400 as documented")

        # Every documented path answered something other than 404 to a valid call.
        for path, method in sorted(documented):
            if path == "/api/v1/stream":
                continue  # answered 200 above (StreamRecorder)
            good = [s for p, m, s in c.statuses if p == path and m == method and s != 404]
            check(good, f"{method.upper()} {path} never answered anything but 404")
        check(st.stop_serve() == 0, "serve did not exit 0")

        # Reads behind a token: every documented 401 on reads, the open routes stay open.
        config = st.serve_config("auth.json")
        with open(config) as f:
            cfg = json.load(f)
        cfg["http"]["require_auth_for_reads"] = True
        with open(config, "w") as f:
            json.dump(cfg, f)
        st.start_serve("--config", config, env=env)
        for path, method in sorted(documented):
            if method != "get":
                continue
            op = c.operation(path, method)
            a = call(st, "GET", fill(path))
            if op["security"] == []:
                check(a.status != 401, f"{path} is documented open but answered 401")
                c.expect(path, method, a, what="open with auth for reads")
            else:
                c.expect(path, method, a, {401}, "no token, auth for reads")
                if path != "/api/v1/stream":
                    ok = {409} if path == "/api/v1/models/shadow/report" else {200}  # no shadow model here
                    c.expect(path, method, call(st, "GET", fill(path), token=VIEWER), ok, "viewer, auth for reads")
        c.expect(scen, "post", call(st, "POST", scen, body=scenario), {401}, "no token, auth for reads")
        c.expect(scen, "post", call(st, "POST", scen, token=VIEWER, body=scenario), {200}, "viewer, auth for reads")
        print("require_auth_for_reads: 401 on every read as documented (a scenario too); probes, dashboard and document open")
        check(st.stop_serve() == 0, "serve did not exit 0")
    print(f"{c.checked} answers checked against the document")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
