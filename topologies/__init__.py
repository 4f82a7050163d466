"""Topologies for Mininet (B4, fat-tree, any file the TE engine reads)."""
