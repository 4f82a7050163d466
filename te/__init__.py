"""Traffic-engineering engine: pure algorithms over networkx graphs (no Ryu, no Mininet)."""
