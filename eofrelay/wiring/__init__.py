"""
Wiring: the service that C{twistd eofrelay} runs, built from its options
(GPIO adapter, relays, relay bank, front ends, logging), and what happens
to the relays when it stops.  An application builds the same service from
the same parts in a few lines (see C{docs/embedding.rst}).
"""
