"""The lab: a real controller (``te-controller``) and a Mininet network of it on this machine.

One place for what the e2e tests (``tests/e2e``), the benchmarks and the demo start, measure and
stop: the controller and the network (:mod:`.control`), the REST client that checks every answer
against the OpenAPI spec (:mod:`.api`), switch tables and counters (:mod:`.switches`),
reachability and outages (:mod:`.reach`), iperf3 traffic (:mod:`.traffic`) and the emulator's budget
(:mod:`.budget`).

Usage::

    from topologies import lab
    from topologies.b4 import B4Topo

    with lab.running(lab.Setup("try", B4Topo(bw=10), Path("results/try"))) as setup:
        lab.wait_full_reachability(setup.net, deadline_s=60)
        intent = setup.api.post_intent(src="10.0.0.1", dst="10.0.0.12", rate_bps=4e6)
"""
from .api import INSTALLED, Api, allocation, api, post_intent, wait_allocations
from .control import (
    MEASUREMENTS, REPO, RESULTS, TE_CONTROLLER, Controller, Setup, environment_problem, free_port, listening,
    machine_lock, record, running, take_turn,
)
from .reach import (
    Pingall, busiest_next_hop, measure_link_failure, parallel_pingall, ping_outage, switch_port_towards,
    wait_full_reachability,
)
from .switches import (
    PortSampler, bridge_marks, bridges, clear_dead_lab, controller_packet_counts, count_increase, drop_counts,
    dump_switches, ofctl, port_counters, port_rx_packets, stale_interfaces, steady_packet_in_rate, switch_tables,
)
from . import impostor  # noqa: F401  (lab.impostor.FLOW_MOD etc.)
from .budget import PKT_HOPS_BUDGET, StallWatch, budget_warning, offered_pkt_hops, ovs_cpu_seconds
from .traffic import (
    TCP_PAYLOAD_SHARE, UDP_FRAME, UDP_PAYLOAD, dscp_counts, goodput_of, host_queue_drops, received_goodput,
    start_dscp_capture, start_iperf_server, start_iperf_tcp, start_iperf_udp, udp_goodputs, udp_loss, udp_report,
    wait_iperf_server,
)
