"""The policy model (`netpol.decide`, from which the nft rules are generated and trace
explains) against IBM's network-config-analyzer on many random policy sets, without
namespaces: every pair, port and protocol. (The same sets on real namespaces, probed, are
in tests/integration/test_netpol_oracle.py.)"""

from __future__ import annotations

import pytest

from kindscape import netpol
from kindscape.scenario import loads
from tests.integration.test_netpol_oracle import NCA, _nca_inputs, nca_truth, random_policies
from tests.netpol_model import scenario

pytestmark = pytest.mark.skipif(NCA is None, reason="network-config-analyzer (nca) is not installed")


@pytest.mark.parametrize("seed", range(100, 108))
def test_the_model_agrees_with_network_config_analyzer(tmp_path, seed):
    policies = random_policies(seed)
    expected = nca_truth(_nca_inputs(tmp_path, policies))
    cluster = loads(scenario(policies)).topology.clusters[0]
    pods = {p.name.split("/pod/", 1)[1]: p for p in cluster.pods}
    labels = cluster.namespace_labels
    for (port, protocol), table in expected.items():
        for (source, target), allowed in table.items():
            s, t = pods[source], pods[target]
            egress = netpol.decide(cluster.policies, "Egress", s.view, t.view, t.addresses[0], port, protocol, labels)
            ingress = netpol.decide(cluster.policies, "Ingress", t.view, s.view, s.addresses[0], port, protocol, labels)
            assert (egress.allowed and ingress.allowed) == allowed, (seed, port, protocol, source, target,
                                                                     egress.text(), ingress.text())
