"""An app reading its flags with OpenFeature's Python SDK and its OFREP provider, from the
address `dozen run` gives every process (OFREP_ENDPOINT). GET /?flag=F&n=N&prefix=P evaluates
boolean flag F for targeting keys P0..P(N-1) and answers which were on, with the last result's
details."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

api.set_provider(OFREPProvider(os.environ["OFREP_ENDPOINT"]))
client = api.get_client()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        flag = query["flag"][0]
        n = int(query.get("n", ["1"])[0])
        prefix = query.get("prefix", ["user-"])[0]
        on, last = [], None
        for i in range(n):
            last = client.get_boolean_details(flag, False, EvaluationContext(f"{prefix}{i}"))
            if last.value:
                on.append(i)
        body = json.dumps(
            {
                "on": on,
                "value": last.value,
                "variant": last.variant,
                "reason": str(getattr(last.reason, "value", last.reason)),
                "error": str(getattr(last.error_code, "value", last.error_code)) if last.error_code else None,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
