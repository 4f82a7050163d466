"""Ryu's WSGI glue for the REST API: one Ryu route per path the app serves, every request to
:func:`controller.rest.dispatch` (which is plain code, tested without Ryu)."""
from __future__ import annotations

import json

from ryu.app.wsgi import ControllerBase, Response, route

from .rest import ApiError, api_error, dispatch, read_body, ryu_paths


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


def _routed(path: str):
    # Ryu reads one route from each method (routing_info) and calls the method of the route that matched;
    # dispatch reads the path variables itself.
    def serve(self, req, **_path_variables):
        return self.handle(req)

    return route("te", path)(serve)


for _n, _path in enumerate(ryu_paths()):
    setattr(TERestController, f"route_{_n}", _routed(_path))
