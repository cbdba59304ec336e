"""The leak check's view of routes: Docker's own routes on its bridges are left out (it
makes and removes them by itself), a route through a gateway on a Docker bridge (the
kind runtime's dockerHost routes) is not."""

from tests.machine import _not_docker_routes

TABLE = """default via 10.0.2.2 dev eth0
10.181.1.0/24 via 172.18.0.3 dev br-0123456789ab
172.18.0.0/16 dev br-0123456789ab proto kernel scope link src 172.18.0.1
local 172.18.0.1 dev br-0123456789ab table local proto kernel scope host src 172.18.0.1
broadcast 172.18.255.255 dev br-0123456789ab table local proto kernel scope link src 172.18.0.1
fd00:10:244::/64 via fc00:f853:ccd:e793::3 dev br-0123456789ab metric 1024 pref medium
fe80::/64 dev veth1234567 proto kernel metric 256 pref medium
172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown"""


def test_routes_through_docker_bridges_are_compared_dockers_own_are_not():
    assert _not_docker_routes(TABLE).splitlines() == [
        "default via 10.0.2.2 dev eth0",
        "10.181.1.0/24 via 172.18.0.3 dev br-0123456789ab",
        "fd00:10:244::/64 via fc00:f853:ccd:e793::3 dev br-0123456789ab metric 1024 pref medium"]
