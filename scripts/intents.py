#!/usr/bin/env python3
"""Add, list, show and delete TE intents through the controller's REST API (first version; `te-intent` will supersede it).

    scripts/intents.py add 10.0.0.1 10.0.0.5 4M [--priority 1] [--weight 2] [--proto udp --dport 5001] [--name web]
    scripts/intents.py list
    scripts/intents.py show 3              # the intent and its allocation
    scripts/intents.py delete 3
    scripts/intents.py allocations

The API's address comes from --url or $TE_API (default http://127.0.0.1:8080/te/v1).
Exit status 0 on success, 1 when the controller refuses (its error is printed), 2 on usage errors.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import requests

UNITS = {"": 1, "k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9}
PROTOS = {"tcp": 6, "udp": 17}


def rate(text: str) -> float:
    """``4M`` -> 4e6, ``250k`` -> 250e3, ``1e6`` -> 1e6."""
    suffix = text[-1] if text and text[-1] in UNITS else ""
    try:
        return float(text[: len(text) - len(suffix)]) * UNITS[suffix]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (e.g. 4M, 250k, 1e6)") from None


def mbit(bps) -> str:
    return f"{bps / 1e6:.3f} Mbit/s"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("TE_API", "http://127.0.0.1:8080/te/v1"))
    ap.add_argument("--json", action="store_true", help="print the API's JSON instead of a summary")
    sub = ap.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an intent")
    add.add_argument("src")
    add.add_argument("dst")
    add.add_argument("rate", type=rate, help="bit/s, with an optional k/M/G suffix")
    add.add_argument("--priority", type=int)
    add.add_argument("--weight", type=float)
    add.add_argument("--name")
    add.add_argument("--proto", choices=sorted(PROTOS))
    add.add_argument("--sport", type=int)
    add.add_argument("--dport", type=int)
    sub.add_parser("list", help="list intents with their allocation")
    sub.add_parser("allocations", help="every allocation with its paths")
    for name in ("show", "delete"):
        sub.add_parser(name, help=f"{name} one intent").add_argument("id")
    args = ap.parse_args(argv)
    try:
        return run(args)
    except requests.RequestException as exc:
        print(f"intents: cannot reach the controller at {args.url}: {exc}", file=sys.stderr)
        return 1


def call(args, method, path, body=None):
    r = requests.request(method, args.url + path, json=body, timeout=10)
    if r.status_code >= 400:
        try:
            error = r.json()
        except ValueError:
            error = {"error": r.text.strip()}
        field = f" (field {error['field']})" if error.get("field") else ""
        raise SystemExit(print(f"intents: {r.status_code}: {error.get('error')}{field}", file=sys.stderr) or 1)
    return r.json() if r.content else None


def run(args) -> int:
    if args.command == "add":
        body = {"src": args.src, "dst": args.dst, "rate_bps": args.rate}
        for key in ("priority", "weight", "name"):
            if getattr(args, key) is not None:
                body[key] = getattr(args, key)
        match = {k: v for k, v in (("ip_proto", PROTOS.get(args.proto)), ("tp_src", args.sport),
                                   ("tp_dst", args.dport)) if v is not None}
        if match:
            body["match"] = match
        intent = call(args, "POST", "/intents", body)
        print(json.dumps(intent, indent=1) if args.json else f"created intent {intent['id']}")
    elif args.command == "delete":
        call(args, "DELETE", f"/intents/{args.id}")
        print(f"deleted intent {args.id}")
    elif args.command == "show":
        intent = call(args, "GET", f"/intents/{args.id}")
        allocs = [a for a in call(args, "GET", "/allocations")["allocations"] if a["intent_id"] == args.id]
        print(json.dumps({"intent": intent, "allocation": allocs[0] if allocs else None}, indent=1))
    elif args.command == "allocations" or args.json:
        print(json.dumps(call(args, "GET", "/allocations"), indent=1))
    else:
        allocs = {a["intent_id"]: a for a in call(args, "GET", "/allocations")["allocations"]}
        print(f"{'id':>4} {'name':12} {'src':>15} -> {'dst':15} {'prio':>4} {'weight':>6} {'requested':>16} "
              f"{'allocated':>16} state")
        for i in call(args, "GET", "/intents")["intents"]:
            a = allocs.get(i["id"], {})
            print(f"{i['id']:>4} {i['name'] or '-':12} {i['src']:>15} -> {i['dst']:15} {i['priority']:>4} "
                  f"{i['weight']:>6g} {mbit(i['rate_bps']):>16} {mbit(a.get('allocated_bps', 0)):>16} "
                  f"{a.get('state', '?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
