"""The shared Linux layer: network namespaces (`nsfs`), long-lived processes, rtnetlink
(`netlink`, `rtnl`), kernel feature detection (`features`), link shaping (`shaping`) and
the namespaces' /etc files (`netns_etc`),
used by both runtimes and the prober. It knows nothing of scenarios or plans."""
