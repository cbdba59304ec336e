"""The shared Linux layer: network namespaces (`nsfs`), long-lived processes, rtnetlink
(`netlink`, `rtnl`), kernel feature detection (`features`) and link shaping (`shaping`),
used by both runtimes and the prober. It knows nothing of scenarios or plans."""
