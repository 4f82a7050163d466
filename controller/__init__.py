"""Ryu OpenFlow 1.3 application and the plain code it drives."""
