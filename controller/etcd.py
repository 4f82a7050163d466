"""The intent store and the leader election on etcd, for several controllers sharing one network.

``intent_store = etcd://host1:2379,host2:2379/prefix`` selects it (:func:`parse_url`). Everything goes
through etcd's v3 HTTP gateway with the maintained ``etcd3gw`` client; each request tries the listed
members in turn, so a controller keeps working while one member is down.

Keys under the prefix (values are JSON):

=====================  ==================================================================================
``intents/<id>``       ``{"version": N, "request": IntentInput}``; creation order is the key's create revision
``groups/<name>``      ``{"version": N, "request": GroupInput}``
``meta/next_id``       the id number handed out next
``meta/revision``      rewritten by every write: its mod revision is the store's revision
``leader``             ``{"member", "rest", "started"}`` of the leader, attached to its lease
``members/<member>``   the same, of every live controller, attached to each one's lease
=====================  ==================================================================================

Every write (:meth:`EtcdStore.apply`) is one etcd transaction that also rewrites ``meta/revision``.
With a leadership fence (:attr:`EtcdStore.fence`), the transaction only succeeds while ``leader`` is still
the key this controller created when it won (its create revision is the election revision): a deposed
leader's late write fails in etcd itself, whatever the deposed leader believes. Failures are
:class:`controller.store.StoreError`, which the REST API answers with 503 and changes nothing.

Followers learn every change through a watch on the prefix (:class:`PrefixWatch`), then read the
whole store again at one revision (:meth:`EtcdStore.snapshot`): a few hundred intents take one request.
"""
from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass, field

from controller.intents import IntentError, parse_group, parse_intent
from controller.store import StoreError

LOG = logging.getLogger("controller.etcd")

SCHEME = "etcd://"
DEFAULT_PREFIX = "/sdn-te"


def is_etcd_url(value: str) -> bool:
    return str(value).startswith(SCHEME)


def parse_url(url: str) -> tuple:
    """``etcd://host:port[,host:port...][/prefix]`` -> ([(host, port), ...], prefix).

    >>> parse_url("etcd://10.0.0.1:2379,10.0.0.2:2379/te/lab")
    ([('10.0.0.1', 2379), ('10.0.0.2', 2379)], '/te/lab')
    >>> parse_url("etcd://localhost")
    ([('localhost', 2379)], '/sdn-te')
    >>> parse_url("etcd://h:x/p")
    Traceback (most recent call last):
    ...
    ValueError: intent_store etcd://h:x/p: port 'x' of 'h:x' is not a number
    """
    if not is_etcd_url(url):
        raise ValueError(f"intent_store {url}: an etcd store is etcd://host:port[,host:port...]/prefix")
    rest = url[len(SCHEME):]
    hosts, _, prefix = rest.partition("/")
    endpoints = []
    for item in hosts.split(","):
        if not item:
            raise ValueError(f"intent_store {url}: an empty host in the member list")
        host, sep, port = item.rpartition(":") if "]" not in item.rpartition(":")[2] else (item, "", "")
        if not sep:
            host, port = item, "2379"
        host = host.strip("[]")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"intent_store {url}: port {port!r} of {item!r} is not a number")
        if not host:
            raise ValueError(f"intent_store {url}: no host in {item!r}")
        endpoints.append((host, int(port)))
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else DEFAULT_PREFIX
    return endpoints, prefix


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode()


def _prefix_end(prefix: str) -> str:
    """The range end that covers every key starting with ``prefix`` (its last byte plus one)."""
    raw = prefix.encode()
    return base64.b64encode(raw[:-1] + bytes([raw[-1] + 1])).decode()


class EtcdClient:
    """Requests to the first etcd member of ``endpoints`` that answers (the last good one first).

    ``timeout`` bounds each request, so a member that is gone or has lost its quorum costs at most that.
    """

    def __init__(self, endpoints, timeout: float = 1.0):
        import etcd3gw  # the controller's extra; imported only when an etcd store is configured

        self.endpoints = list(endpoints)
        self.timeout = timeout
        self._clients = [etcd3gw.Etcd3Client(host=h, port=p, api_path="/v3/", timeout=timeout)
                         for h, p in self.endpoints]
        self._good = 0
        self._errors = etcd3gw.exceptions

    def post(self, path: str, body: dict) -> dict:
        """POST ``body`` to ``/v3/<path>`` of a member; :class:`StoreError` when none answers."""
        problems = []
        order = list(range(self._good, len(self._clients))) + list(range(self._good))
        for n in order:
            client = self._clients[n]
            try:
                answer = client.post(client.get_url(path), json=body)
            except self._errors.Etcd3Exception as exc:
                if type(exc) is self._errors.Etcd3Exception:  # a 4xx: the request itself was refused
                    raise StoreError(f"etcd refused the request ({_short(exc)}); a transaction of more than "
                                     "etcd's --max-txn-ops operations (128 by default) is refused") from None
                problems.append(f"{client.host}:{client.port}: {_short(exc)}")
                continue
            except (OSError, ValueError) as exc:
                problems.append(f"{client.host}:{client.port}: {_short(exc)}")
                continue
            self._good = n
            return answer
        raise StoreError("etcd did not answer (" + "; ".join(problems) + ")")

    def url(self, n: int | None = None) -> str:
        client = self._clients[self._good if n is None else n]
        return client.get_url("")

    def close(self) -> None:
        for client in self._clients:
            client.session.close()


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
        return "timed out"
    if "Connection refused" in text or type(exc).__name__ == "ConnectionFailedError":
        return "connection refused"
    return text[:160]


@dataclass(frozen=True)
class Snapshot:
    """The whole store at one etcd revision."""

    intents: list
    groups: list
    next_id: int | None
    revision: int  # etcd's revision when it was read
    store_revision: int  # the mod revision of meta/revision: the last write's (0 before any)


class EtcdStore:
    """The intent store on etcd, with the interface of :class:`controller.store.IntentStore`.

    ``fence``: a callable returning ``(election revision, lease id)`` this controller leads with, or None when
    it must not write (then :meth:`apply` refuses without asking etcd). None (the default) writes unfenced, as
    a single controller does. ``resync``: called with a :class:`Snapshot` when a write's outcome was unknown
    (etcd did not answer a transaction it may have committed): the next write reads the store first, hands it
    to ``resync`` and is refused (retry), so that ids are never handed out twice.
    """

    read_only = False
    warning = None

    def __init__(self, url: str, timeout: float = 1.0):
        self.endpoints, self.prefix = parse_url(url)
        self.path = url  # named in logs and errors, as a SQLite store's file is
        self.client = EtcdClient(self.endpoints, timeout)
        self.fence = None
        self.resync = None
        self.last_revision = 0
        self.own_revision = 0  # the revision of this process's last write
        self.doubtful = False  # the last write's outcome is unknown
        self.writes = 0

    def key(self, *parts: str) -> str:
        return "/".join((self.prefix, *parts))

    # --- reading ------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Every intent and group and the id counter, read in one request (one revision).

        Raises
        ------
        StoreError
            etcd did not answer, or a stored value is not a valid intent or group (named).
        """
        answer = self.client.post("kv/range", {"key": _b64(self.prefix + "/"), "range_end": _prefix_end(self.prefix + "/")})
        intents, groups, next_id, store_revision = [], [], None, 0
        for kv in sorted(answer.get("kvs", []), key=lambda kv: int(kv["create_revision"])):
            key, record = self._record(kv)
            if key.startswith("intents/"):
                intents.append(record)
            elif key.startswith("groups/"):
                groups.append(record)
            elif key == "meta/next_id":
                next_id = record
            elif key == "meta/revision":
                store_revision = int(kv["mod_revision"])
        revision = int(answer["header"]["revision"])
        self.last_revision = max(self.last_revision, revision)
        return Snapshot(intents, groups, next_id, revision, store_revision)

    def changes(self, events) -> dict:
        """The keyword arguments of :meth:`controller.intents.IntentRegistry.take_stored` for a batch of
        watch ``events`` (as etcd's gateway sends them: base64 keys and values, ``type`` DELETE or absent).

        Raises
        ------
        StoreError
            A stored value that is not a valid intent or group (named).
        """
        out = {"saved": [], "deleted": [], "next_id": None, "saved_groups": [], "deleted_groups": []}
        for event in events:
            kv = event.get("kv", {})
            gone = event.get("type") == "DELETE"
            key, record = self._record(kv, parse=not gone)
            kind, _, name = key.partition("/")
            if kind in ("intents", "groups"):
                suffix = "" if kind == "intents" else "_groups"
                out[("deleted" if gone else "saved") + suffix].append(name if gone else record)
            elif key == "meta/next_id" and not gone:
                out["next_id"] = record
            self.last_revision = max(self.last_revision, int(kv.get("mod_revision", 0)))
        return out

    def _record(self, kv, parse: bool = True) -> tuple:
        """``(key below the prefix, what its value holds)``: an Intent, an IntentGroup, the id counter (an
        int), or None (another key, or ``parse`` false).

        Raises
        ------
        StoreError
            A stored value that is not a valid intent, group or counter (named).
        """
        key = _unb64(kv.get("key", ""))[len(self.prefix) + 1:]
        kind, _, name = key.partition("/")
        if not parse or (kind not in ("intents", "groups") and key != "meta/next_id"):
            return key, None
        try:
            value = _unb64(kv["value"])
            if key == "meta/next_id":
                return key, int(value)
            row = json.loads(value)
            parser = parse_intent if kind == "intents" else parse_group
            return key, parser(row["request"], name, int(row["version"]))
        except (ValueError, KeyError, TypeError, IntentError) as exc:
            raise StoreError(f"{self.path}: stored {key} is unreadable: {exc}") from None

    def load(self) -> list:
        return self.snapshot().intents

    def load_groups(self) -> list:
        return self.snapshot().groups

    def next_id(self) -> int | None:
        return self.snapshot().next_id

    # --- writing ------------------------------------------------------------------------------
    def apply(self, saved=(), deleted=(), next_id: int | None = None, saved_groups=(), deleted_groups=()) -> int:
        """One transaction, as :meth:`controller.store.IntentStore.apply`; returns the store's new revision.

        Raises
        ------
        StoreError
            Not the leader (the fence), etcd did not answer or has no quorum, or the leader key changed.
        """
        from controller.store import _request_json  # the stored form of an intent, shared with SQLite

        compare = []
        if self.fence is not None:
            held = self.fence()
            if held is None:
                raise StoreError("this controller is not the leader (or cannot reach etcd); nothing was written")
            generation, lease = held
            leader = _b64(self.key("leader"))
            compare = [{"key": leader, "result": "EQUAL", "target": "CREATE", "create_revision": str(generation)},
                       {"key": leader, "result": "EQUAL", "target": "LEASE", "lease": str(lease)}]
        if self.doubtful:
            snapshot = self.snapshot()  # raises while etcd is still away: nothing is written meanwhile
            self.doubtful = False
            if self.resync is not None:
                self.resync(snapshot)
            raise StoreError("an earlier write's outcome was unknown (etcd did not answer); the intents were read "
                             "again from etcd, nothing was written: retry")
        puts = [(self.key("intents", i.id), json.dumps({"version": i.version, "request": json.loads(_request_json(i))},
                                                       sort_keys=True)) for i in saved]
        puts += [(self.key("groups", g.name), json.dumps({"version": g.version, "request": g.request()}, sort_keys=True))
                 for g in saved_groups]
        if next_id is not None:
            puts.append((self.key("meta", "next_id"), str(int(next_id))))
        puts.append((self.key("meta", "revision"), json.dumps({"at": time.time()})))
        deletes = [self.key("intents", str(i)) for i in deleted] + [self.key("groups", n) for n in deleted_groups]
        ops = [{"request_put": {"key": _b64(k), "value": _b64(v)}} for k, v in puts]
        ops += [{"request_delete_range": {"key": _b64(k)}} for k in deletes]
        try:
            answer = self.client.post("kv/txn", {"compare": compare, "success": ops, "failure": []})
        except StoreError as exc:
            self.doubtful = "refused" not in str(exc)  # it may have been committed all the same
            raise
        if not answer.get("succeeded"):
            raise StoreError("this controller is no longer the leader (the leader key changed); nothing was written")
        self.writes += 1
        revision = int(answer["header"]["revision"])
        self.last_revision = max(self.last_revision, revision)
        self.own_revision = revision
        return revision

    def close(self) -> None:
        self.client.close()


@dataclass
class Member:
    """This controller's lease, campaign and view of the leader key, on etcd (the I/O of :mod:`controller.ha`).

    Every method returns what etcd said or raises :class:`StoreError`; the caller
    (:class:`controller.cluster.Cluster`) keeps the times.
    """

    store: EtcdStore
    member: str
    ttl: int
    info: dict = field(default_factory=dict)
    lease_id: int | None = None

    def grant(self) -> int:
        """A new lease of ``ttl`` seconds, with our member key on it; returns the TTL granted."""
        answer = self.store.client.post("lease/grant", {"TTL": self.ttl})
        self.lease_id = int(answer["ID"])
        self.store.client.post("kv/put", {"key": _b64(self.store.key("members", self.member)),
                                          "value": _b64(json.dumps(self._value())), "lease": str(self.lease_id)})
        return int(answer["TTL"])

    def keepalive(self) -> int:
        """Refresh the lease; its TTL left (seconds), or -1 when it has expired."""
        answer = self.store.client.post("lease/keepalive", {"ID": str(self.lease_id)})
        return int(answer.get("result", {}).get("TTL", -1))

    def campaign(self) -> tuple:
        """Create the leader key with our lease unless it exists; returns (member, generation, info) of
        the leader after it (generation: the key's create revision)."""
        key = _b64(self.store.key("leader"))
        answer = self.store.client.post("kv/txn", {
            "compare": [{"key": key, "result": "EQUAL", "target": "CREATE", "create_revision": "0"}],
            "success": [{"request_put": {"key": key, "value": _b64(json.dumps(self._value())),
                                         "lease": str(self.lease_id)}}],
            "failure": [{"request_range": {"key": key}}]})
        if answer.get("succeeded"):
            return self.member, int(answer["header"]["revision"]), self._value()
        kvs = answer["responses"][0]["response_range"].get("kvs", [])
        return self._leader_of(kvs)

    def leader(self) -> tuple:
        """(member, generation, info) of the leader key; (None, 0, {}) when there is none."""
        answer = self.store.client.post("kv/range", {"key": _b64(self.store.key("leader"))})
        return self._leader_of(answer.get("kvs", []))

    def members(self) -> list:
        """What every live controller published (its member key exists while its lease lives)."""
        prefix = self.store.key("members") + "/"
        answer = self.store.client.post("kv/range", {"key": _b64(prefix), "range_end": _prefix_end(prefix)})
        return [json.loads(_unb64(kv["value"])) for kv in answer.get("kvs", [])]

    def resign(self) -> None:
        """Revoke the lease: our leader key (if any) and member key go at once, and a standby takes over."""
        if self.lease_id is not None:
            self.store.client.post("kv/lease/revoke", {"ID": str(self.lease_id)})
            self.lease_id = None

    def _leader_of(self, kvs) -> tuple:
        if not kvs:
            return None, 0, {}
        kv = kvs[0]
        try:
            info = json.loads(_unb64(kv["value"]))
        except ValueError:
            info = {}
        mine = self.lease_id is not None and int(kv.get("lease", 0)) == self.lease_id
        member = info.get("member", "?") if isinstance(info, dict) else "?"
        if not mine and member == self.member:
            # our name on another lease: a controller with the same ha_member, or our own earlier process
            LOG.warning("te: the leader key names this member (%s) but holds another lease: is ha_member unique?",
                        member)
            member = f"{member} (lease {int(kv.get('lease', 0)):x})"
        elif mine:
            member = self.member
        return member, int(kv["create_revision"]), info if isinstance(info, dict) else {}

    def _value(self) -> dict:
        return {"member": self.member, **self.info}


class PrefixWatch:
    """etcd's watch of the store's prefix, as a blocking iterator of revisions with changes.

    Run :meth:`run` in a (green) thread: it calls ``changed(revision, events)`` for every batch of events,
    and ``changed(None, None)`` once it is (re)connected (the caller reads the whole store again: events may
    have been missed meanwhile; those that follow may repeat what it read, which changes nothing). It
    reconnects to the next member after an error, ``retry`` seconds later.
    """

    def __init__(self, store: EtcdStore, changed, retry: float = 0.5, sleep=time.sleep, idle: float = 10.0):
        self.store, self.changed, self.retry, self.sleep, self.idle = store, changed, retry, sleep, idle
        self.running = True
        self.connects = 0

    def run(self) -> None:
        import requests

        prefix = self.store.prefix + "/"
        # progress_notify: etcd says it is alive now and then on an idle watch; hasleader: a member cut off
        # from its cluster's leader ends the watch instead of keeping it open and silent. A stream silent for
        # longer than ``idle`` is given up and opened again (and the store read again): never stale for long.
        body = {"create_request": {"key": _b64(prefix), "range_end": _prefix_end(prefix), "progress_notify": True}}
        headers = {"Grpc-Metadata-hasleader": "true"}
        n = 0
        while self.running:
            client = self.store.client._clients[n % len(self.store.client._clients)]
            try:
                with requests.post(client.get_url("watch"), json=body, stream=True, headers=headers,
                                   timeout=(self.store.client.timeout, self.idle)) as answer:
                    for line in answer.iter_lines():
                        if not self.running:
                            return
                        if not line.strip():
                            continue
                        result = json.loads(line).get("result", {})
                        if result.get("canceled"):  # e.g. compacted past us: read everything again
                            break
                        if result.get("created"):  # watching from here on: what came before, read whole
                            self.connects += 1
                            self.changed(None, None)
                        elif result.get("events"):
                            self.changed(int(result["header"]["revision"]), result["events"])
            except (requests.RequestException, OSError, ValueError, KeyError, StoreError) as exc:
                # StoreError: the caller could not read or take the change: read it all again on reconnect
                LOG.debug("te: etcd watch on %s:%d ended: %s", client.host, client.port, _short(exc))
            n += 1
            if self.running:
                self.sleep(self.retry)

    def stop(self) -> None:
        self.running = False
