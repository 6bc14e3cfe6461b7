#!/usr/bin/python3
"""sensor-csv.py: log Switchyard's sensor readings to a CSV file.

    python3 examples/sensor-csv.py 'http://127.0.0.1:8080/?token=v1.v.…' --readings 50 -o readings.csv

URL is the view-url (or control-url) the server printed, or a ws:// or wss://
address of its /ws endpoint. Needs python3-websockets (Debian: apt install
python3-websockets). One row per reading: the time (ISO 8601, UTC), then one
column per sensor; a sensor that dropped out (stale) leaves its cell empty.
"""

import argparse
import asyncio
import csv
import datetime
import json
import ssl
import sys
import urllib.parse

import websockets

SENSOR = "switchyard.sensor.v1"


def ws_url(url):
    """The /ws endpoint of a page link: http → ws, https → wss, token kept."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("ws", "wss"):
        return url
    scheme = {"http": "ws", "https": "wss"}[parts.scheme]
    return urllib.parse.urlunsplit((scheme, parts.netloc, "/ws", parts.query, ""))


def iso(ms):
    moment = datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def log_readings(url, readings, rate_hz, out, cafile=None):
    context = None
    if url.startswith("wss:"):
        context = ssl.create_default_context(cafile=cafile)
    async with websockets.connect(url, subprotocols=[SENSOR], ssl=context,
                                  open_timeout=10, close_timeout=3) as ws:
        writer = None
        ids = []
        written = 0
        async for message in ws:
            msg = json.loads(message)
            if msg["type"] == "sensors":
                ids = [s["id"] for s in msg["sensors"]]
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(["time"] + ids)
                await ws.send(json.dumps({"type": "subscribe", "id": 1, "sensors": ids,
                                          "rate_hz": rate_hz}))
            elif msg["type"] == "reading" and writer is not None:
                stale = set(msg.get("stale", []))
                writer.writerow([iso(msg["t"])] +
                                ["" if i in stale or i not in msg["values"] else msg["values"][i]
                                 for i in ids])
                out.flush()
                written += 1
                if written >= readings:
                    return written
            elif msg["type"] == "error":
                raise RuntimeError("the server refused: %s" % msg.get("message"))
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the printed view-url, or ws://HOST:PORT/ws?token=…")
    parser.add_argument("-n", "--readings", type=int, default=100, help="stop after N readings")
    parser.add_argument("-r", "--rate", type=float, default=2.0, help="readings per second")
    parser.add_argument("-o", "--output", help="CSV file (default: standard output)")
    parser.add_argument("--ca-file", help="for wss://: trust this PEM certificate")
    args = parser.parse_args()

    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        written = asyncio.run(log_readings(ws_url(args.url), args.readings, args.rate, out,
                                           args.ca_file))
    except (OSError, websockets.exceptions.WebSocketException, RuntimeError) as e:
        print("sensor-csv: %s" % e, file=sys.stderr)
        return 1
    finally:
        if out is not sys.stdout:
            out.close()
    print("sensor-csv: %d readings written" % written, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
