"""Ryu's WSGI glue for the REST API: one Ryu route per path the app serves, every request to
:func:`controller.rest.dispatch` (which is plain code, tested without Ryu)."""
from __future__ import annotations

import json

from ryu.app.wsgi import ControllerBase, Response, route

from .rest import FORWARDED_HEADER, WRITES, ApiError, Reply, api_error, check_host, dispatch, forwarding, no_leader, \
    read_body, ryu_paths

# Request headers a forwarded request keeps (the rest, Host first, are the forwarder's own).
_PASSED = ("Content-Type", "If-Match", "Authorization", "Accept")
_SESSION = None
# Answer headers a forwarded answer keeps.
_KEPT = ("ETag", "Location", "Allow", "Retry-After")


class TERestController(ControllerBase):
    """Ryu WSGI glue: every request goes through :func:`dispatch`."""

    def __init__(self, req, link, data, **config):
        super().__init__(req, link, data, **config)
        self.service = data["app"]

    def handle(self, req):
        try:
            body = read_body(req.environ)
        except ApiError as exc:
            reply = api_error(exc)
        else:
            target = forwarding(self.service, req.method, req.path, req.headers)
            reply = check_host(self.service, req.headers) if target is not None else None
            if reply is not None:
                pass  # a Host this API does not answer: 403 here, never passed on
            elif target == "":
                reply = no_leader(target)
            elif target is not None:
                reply = self._forward(target, req, body)
            if reply is None:
                reply = dispatch(self.service, req.method, req.path, body, req.headers)
        if reply.body is None:
            response = Response(status=reply.status)
        elif isinstance(reply.body, bytes):
            response = Response(status=reply.status, body=reply.body)
            response.headers["Content-Type"] = reply.content_type
        else:
            response = Response(status=reply.status, content_type="application/json", charset="utf-8",
                                body=(json.dumps(reply.body) + "\n").encode())
        for name, value in reply.headers:
            response.headers[name] = value
        return response


    def _forward(self, target: str, req, body: bytes):
        """Pass a request on to the leader and its answer back (a write the leader could not take: 503;
        a read: None, answered here)."""
        import requests  # the controller's dependency already (te-intent's too)

        global _SESSION
        if _SESSION is None:  # keeps connections to the leader open between writes
            _SESSION = requests.Session()
        headers = {name: req.headers[name] for name in _PASSED if name in req.headers}
        headers[FORWARDED_HEADER] = self.service.cluster.name
        url = target + req.path_qs
        try:
            answer = _SESSION.request(req.method, url, data=body or None, headers=headers, timeout=(2, 30),
                                      allow_redirects=False)
        except requests.RequestException as exc:
            return no_leader(target, type(exc).__name__) if req.method in WRITES else None
        kept = tuple((name, answer.headers[name]) for name in _KEPT if name in answer.headers)
        kind = answer.headers.get("Content-Type", "application/json")
        if not answer.content:
            return Reply(answer.status_code, None, kept)
        if kind.startswith("application/json"):
            try:
                return Reply(answer.status_code, answer.json(), kept)
            except ValueError:
                pass
        return Reply(answer.status_code, answer.content, kept, kind)


def _routed(path: str):
    # Ryu reads one route from each method (routing_info) and calls the method of the route that matched;
    # dispatch reads the path variables itself.
    def serve(self, req, **_path_variables):
        return self.handle(req)

    return route("te", path)(serve)


for _n, _path in enumerate(ryu_paths()):
    setattr(TERestController, f"route_{_n}", _routed(_path))
