"""`python -m api [--host H] [--port P]`: serve the HTTP API with uvicorn (port: API_PORT)."""
import argparse

import uvicorn

from core.config import load_settings

parser = argparse.ArgumentParser(prog="python -m api", description="Serve the v1 HTTP API.")
parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
parser.add_argument("--port", type=int, default=None, help="port (default: the API_PORT setting)")
parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
args = parser.parse_args()
settings = load_settings()
port = args.port or settings.api_port
print(f"  HTTP API: http://{args.host}:{port}/v1  (interactive docs: http://{args.host}:{port}/docs)",
      flush=True)
# uvicorn's own access log is off: the app logs each request as one JSON line (api/main.py).
# The client address of a request from a trusted proxy is the one it put in X-Forwarded-For (the
# login throttle counts per address).
uvicorn.run("api.main:app", host=args.host, port=port, workers=args.workers, access_log=False, log_config=None,
            proxy_headers=True, forwarded_allow_ips=",".join(settings.trusted_proxies))
