"""Marks shared by the simulator and the client, so a simulated answer is always recognised as one."""

SIMULATED_FINGERPRINT = "cascade-lab-simulated"  # system_fingerprint of every simulator response
