"""Clients of the controller's REST API (``controller/openapi.yaml``), apart from the server code.

- :mod:`.intent_cli`: the ``te-intent`` command (``pip install .[cli]``);
- :mod:`.api`: its HTTP client, :mod:`.apply`: the ``apply`` planner, :mod:`.intent_file`: the intent
  file reader, :mod:`.formatting`: rates and tables for people;
- :mod:`.plots`: PNG plots of the controller's views (``pip install .[plots]``).

Nothing here imports Ryu: a client machine needs only ``requests`` and ``PyYAML`` (and matplotlib for plots).
"""
