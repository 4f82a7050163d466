"""Make the topology files usable as ``mn --custom topologies/<file>.py``.

``mn`` is a script of Debian's ``/usr/bin/python3``, which sees neither this
repository nor the venv's packages (networkx).  Each topology file calls
:func:`prepare` when it is executed by ``mn --custom`` rather than imported:
the repository goes on ``sys.path`` and, if networkx is missing, ``mn`` is
started again, with the same arguments, under the project's venv Python
(which sees Debian's Mininet through ``--system-site-packages``).

This module uses the standard library only, on purpose.
"""
import codecs
import importlib.util
import os
import sys


def lenient_controller_probe():
    """Make Mininet's check of a remote controller read its answer leniently.

    ``RemoteController.checkListening`` pipes ``telnet`` to the controller's port and decodes what
    comes back (the controller's OpenFlow HELLO) as UTF-8; the HELLO's random xid bytes make that fail
    at random (``UnicodeDecodeError`` in ``Node.read``), and ``mn`` then cleans up and kills every
    ``ryu-manager``. Undecodable bytes become U+FFFD instead; the check still warns when nothing listens.
    """
    from mininet.node import RemoteController

    if getattr(RemoteController, "_lenient_probe", False):
        return
    original = RemoteController.checkListening

    def checkListening(self):
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        return original(self)

    RemoteController.checkListening = checkListening
    RemoteController._lenient_probe = True


def prepare(topology_file):
    """Put the repository root on ``sys.path``; re-exec ``mn`` in the venv if needed.

    Parameters
    ----------
    topology_file : str
        Path of the topology file being executed (its parent's parent is the
        repository root).
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(topology_file)))
    if root not in sys.path:
        sys.path.insert(0, root)
    if importlib.util.find_spec("networkx") is not None:
        lenient_controller_probe()
        return
    venv_python = os.path.join(root, ".venv", "bin", "python")
    in_venv = os.path.realpath(sys.prefix) == os.path.realpath(os.path.join(root, ".venv"))
    if in_venv or not os.path.exists(venv_python):
        sys.exit("topologies: networkx is missing; run scripts/setup.sh to create .venv/")
    os.execv(venv_python, [venv_python] + sys.argv)
