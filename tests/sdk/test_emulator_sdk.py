"""Microsoft's Azure SDK for Python as the emulator's judge.

Starts `portcullis emulator` (the demo tenant, tokens required, small pages so that every
list pages) and drives it with the SDK's management clients at their *default* api-versions:
whatever the pinned releases in requirements.txt send is what the emulator must accept.

Two shims, both kept to the transport, because the emulator speaks plain HTTP on loopback:
- azure-core refuses bearer tokens over non-TLS URLs, so the clients get the SDK's own
  `BearerTokenCredentialPolicy` with that one check turned off (`PlainHttpBearerPolicy`);
- azure-identity's `ClientSecretCredential` goes through MSAL, which needs an https authority
  with OpenID discovery, which the emulator does not serve; `EmulatorCredential` asks the
  emulator's token endpoint (`/{tenant}/oauth2/v2.0/token`, client credentials) directly,
  as MSAL would, and hands the SDK an `azure.core.credentials.AccessToken`.
"""
import json
import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.managementgroups import ManagementGroupsMgmtClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import QueryRequestOptions, SecurityRule
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.security import SecurityCenter

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("PORTCULLIS_BIN", os.path.join(REPO, "target", "debug", "portcullis"))
TENANT = "72f988bf-0000-4000-8000-00000000c0de"
PRODUCTION = "11111111-1111-1111-1111-111111111111"
DEV_TEST = "22222222-2222-2222-2222-222222222222"
CLIENT_ID = "sdk-judge"
CLIENT_SECRET = "sdk-judge-secret"
SCOPE = "https://management.azure.com/.default"
PAGE = 5


class EmulatorCredential:
    """A TokenCredential for the emulator's token endpoint (client credentials grant)."""

    def __init__(self, base):
        self.url = f"{base}/{TENANT}/oauth2/v2.0/token"
        self.calls = 0

    def get_token(self, *scopes, **_kwargs):
        self.calls += 1
        body = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": " ".join(scopes),
            }
        ).encode()
        with urllib.request.urlopen(self.url, body, timeout=10) as r:
            t = json.load(r)
        return AccessToken(t["access_token"], int(time.time()) + int(t["expires_in"]))


class PlainHttpBearerPolicy(BearerTokenCredentialPolicy):
    """The SDK's bearer policy, allowed to send the token over loopback HTTP."""

    def on_request(self, request):
        request.context["enforce_https"] = False
        return super().on_request(request)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def emulator():
    port = free_port()
    proc = subprocess.Popen(
        [BIN, "emulator", "--listen", f"127.0.0.1:{port}", "--page-size", str(PAGE),
         "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("the emulator did not start: " + proc.stderr.read().decode())
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def clients(base, cls, sub=PRODUCTION, **kw):
    cred = EmulatorCredential(base)
    policy = PlainHttpBearerPolicy(cred, SCOPE)
    if cls in (SubscriptionClient, ManagementGroupsMgmtClient):  # tenant-level clients
        return cls(cred, base_url=base, authentication_policy=policy, **kw), cred
    return cls(cred, sub, base_url=base, authentication_policy=policy, **kw), cred


def test_without_a_token_arm_refuses(emulator):
    req = urllib.request.Request(f"{emulator}/subscriptions?api-version=2022-12-01")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 401


def test_subscriptions(emulator):
    client, cred = clients(emulator, SubscriptionClient)
    subs = {s.subscription_id: s.display_name for s in client.subscriptions.list()}
    assert subs == {PRODUCTION: "Contoso Production", DEV_TEST: "Contoso Dev/Test"}
    assert client.subscriptions.get(PRODUCTION).display_name == "Contoso Production"
    assert cred.calls >= 1, "the SDK asked the emulator's token endpoint"


def test_tenants(emulator):
    client, _ = clients(emulator, SubscriptionClient)
    tenants = list(client.tenants.list())
    assert [t.tenant_id for t in tenants] == [TENANT]
    assert tenants[0].tenant_category == "Home"


def test_resource_groups_and_the_generic_resource_list(emulator):
    rm, _ = clients(emulator, ResourceManagementClient)
    groups = {g.name: g for g in rm.resource_groups.list()}
    assert {"rg-sql-lab", "rg-ingress"} <= set(groups), sorted(groups)
    # every group that holds a resource, once
    everything = list(rm.resources.list())
    assert len(everything) > PAGE, "more than one page"
    assert set(groups) == {r.id.split("/")[4] for r in everything}
    g = rm.resource_groups.get("RG-SQL-LAB")
    assert g.name == "rg-sql-lab" and g.properties.provisioning_state == "Succeeded"
    assert g.location == groups["rg-sql-lab"].location
    assert rm.resource_groups.check_existence("rg-sql-lab") is True
    assert rm.resource_groups.check_existence("rg-nowhere") is False
    with pytest.raises(ResourceNotFoundError) as e:
        rm.resource_groups.get("rg-nowhere")
    assert e.value.error.code == "ResourceGroupNotFound"

    # the generic list agrees with the typed lists, filtered as ARM filters
    compute, _ = clients(emulator, ComputeManagementClient)
    vms = {v.id.lower() for v in compute.virtual_machines.list_all()}
    listed = list(rm.resources.list(filter="resourceType eq 'Microsoft.Compute/virtualMachines'"))
    assert {r.id.lower() for r in listed} == vms
    assert all(r.type == "Microsoft.Compute/virtualMachines" for r in listed)
    assert len(everything) > len(listed)
    in_group = list(rm.resources.list_by_resource_group("rg-sql-lab"))
    assert in_group and all("/resourcegroups/rg-sql-lab/" in r.id.lower() for r in in_group)
    # a filter the emulator cannot evaluate is refused, not ignored
    with pytest.raises(HttpResponseError) as e:
        list(rm.resources.list(filter="managedBy eq 'someone'"))
    assert e.value.status_code == 400
    assert e.value.error.code == "InvalidFilterInQueryString"


def test_resource_providers_list_the_versions_the_emulator_accepts(emulator):
    rm, _ = clients(emulator, ResourceManagementClient)
    network = rm.providers.get("microsoft.network")
    assert network.namespace == "Microsoft.Network" and network.registration_state == "Registered"
    nsgs = next(t for t in network.resource_types if t.resource_type == "networkSecurityGroups")
    net, _ = clients(emulator, NetworkManagementClient)
    # what the network SDK sends by default is listed (and accepted)
    urls = []
    net.network_security_groups.get(
        "rg-sql-lab", "sql-lab-01-nsg", raw_request_hook=lambda r: urls.append(r.http_request.url)
    )
    sent = urllib.parse.parse_qs(urllib.parse.urlparse(urls[0]).query)["api-version"][0]
    assert sent in nsgs.api_versions, (sent, nsgs.api_versions)
    assert nsgs.api_versions == sorted(nsgs.api_versions, reverse=True), "newest first"
    assert "West Europe" in nsgs.locations
    namespaces = {p.namespace for p in rm.providers.list()}
    assert {"Microsoft.Compute", "Microsoft.Network", "Microsoft.Security"} <= namespaces
    with pytest.raises(ResourceNotFoundError) as e:
        rm.providers.get("Microsoft.Nowhere")
    assert e.value.error.code == "InvalidResourceNamespace"


def test_management_groups(emulator):
    mg, _ = clients(emulator, ManagementGroupsMgmtClient)
    groups = {g.name: g.display_name for g in mg.management_groups.list()}
    assert groups == {TENANT: "Tenant Root Group", "contoso": "Contoso"}
    root = mg.management_groups.get(TENANT, expand="children")
    assert [c.name for c in root.children] == ["contoso"]
    contoso = mg.management_groups.get("CONTOSO", expand="children")
    assert contoso.details.parent.name == TENANT
    subs = {c.name for c in contoso.children if c.type == "/subscriptions"}
    assert subs == {PRODUCTION, DEV_TEST}
    under = mg.management_group_subscriptions.get_subscriptions_under_management_group("contoso")
    assert {s.name for s in under} == subs
    # descendants: every group and subscription beneath, each with its parent
    below_root = {(d.type, d.name, d.parent.id.rsplit("/", 1)[-1]) for d in mg.management_groups.get_descendants(TENANT)}
    assert below_root == {("Microsoft.Management/managementGroups", "contoso", TENANT)} | {
        ("/subscriptions", s, "contoso") for s in subs}
    assert {d.name for d in mg.management_groups.get_descendants("contoso")} == subs
    # a group that does not exist: 403 AuthorizationFailed, as ARM answers it
    with pytest.raises(HttpResponseError) as e:
        mg.management_groups.get("nowhere")
    assert e.value.status_code == 403 and e.value.error.code == "AuthorizationFailed"


def test_list_all_pages_at_default_api_versions(emulator):
    compute, _ = clients(emulator, ComputeManagementClient)
    vms = list(compute.virtual_machines.list_all())
    assert len(vms) > PAGE, "more than one page"
    assert len({v.id.lower() for v in vms}) == len(vms), "no item twice across pages"
    assert any(v.name == "sql-lab-01" for v in vms)
    vm = compute.virtual_machines.get("rg-sql-lab", "sql-lab-01")
    assert vm.network_profile.network_interfaces[0].id.lower().endswith("/sql-lab-01-nic")

    net, _ = clients(emulator, NetworkManagementClient)
    counts = {
        "nics": len(list(net.network_interfaces.list_all())),
        "pips": len(list(net.public_ip_addresses.list_all())),
        "vnets": len(list(net.virtual_networks.list_all())),
        "nsgs": len(list(net.network_security_groups.list_all())),
        "asgs": len(list(net.application_security_groups.list_all())),
        "lbs": len(list(net.load_balancers.list_all())),
        "firewalls": len(list(net.azure_firewalls.list_all())),
        "bastions": len(list(net.bastion_hosts.list())),
    }
    assert counts["nics"] == len(vms), counts
    assert counts["pips"] > PAGE and counts["nsgs"] > PAGE, counts
    assert counts["lbs"] == 2 and counts["firewalls"] == 1 and counts["bastions"] == 1, counts
    assert counts["asgs"] >= 1, counts
    lb = net.load_balancers.get("rg-ingress", "lb-edge")
    assert lb.inbound_nat_rules[0].frontend_port == 50001
    assert lb.sku.name == "Standard"
    fw = net.azure_firewalls.get("rg-ingress", "fw-hub")
    groups = list(
        net.firewall_policy_rule_collection_groups.list("rg-ingress", fw.firewall_policy.id.split("/")[-1])
    )
    assert groups[0].rule_collections[0].rules[0].translated_address == "10.50.2.10"
    policy = net.firewall_policies.get("rg-ingress", fw.firewall_policy.id.split("/")[-1])
    assert policy.id.lower() == fw.firewall_policy.id.lower()
    assert [f.id.lower() for f in policy.firewalls] == [fw.id.lower()]
    assert {g.id.lower() for g in policy.rule_collection_groups} == {g.id.lower() for g in groups}
    # the hub's policy inherits from the organisation's, which lists it as its child
    assert policy.base_policy.id.lower().endswith("/rg-platform/providers/microsoft.network/firewallpolicies/fwpol-org")
    base = net.firewall_policies.get("rg-platform", "fwpol-org")
    assert base.base_policy is None and [c.id for c in base.child_policies] == [policy.id], base
    assert [p.id for p in net.firewall_policies.list_all()] == [policy.id, base.id]
    assert [p.id for p in net.firewall_policies.list("rg-ingress")] == [policy.id]
    base_groups = list(net.firewall_policy_rule_collection_groups.list("rg-platform", "fwpol-org"))
    nat = base_groups[0].rule_collections[0].rules[0]
    # the base policy's DNAT rule names its sources by IP group, which the SDK reads back
    assert len(nat.source_ip_groups) == 1 and not nat.source_addresses, nat
    group = net.ip_groups.get("rg-platform", "ipg-partners")
    assert group.id.lower() == nat.source_ip_groups[0].lower()
    assert group.ip_addresses == ["198.51.100.0/24", "203.0.113.64/27"], group
    assert [g.id for g in net.ip_groups.list()] == [group.id]
    assert list(net.ip_groups.list_by_resource_group("rg-ingress")) == []
    # the application gateway's TCP proxy (layer 4: listeners, routing rules, backend settings)
    agw = net.application_gateways.get("rg-ingress", "agw-edge")
    assert agw.sku.name == "Standard_v2", agw.sku
    assert [l.protocol for l in agw.listeners] == ["Tcp"], agw.listeners
    rule = agw.routing_rules[0]
    assert rule.listener.id.lower() == agw.listeners[0].id.lower()
    assert agw.backend_settings_collection[0].port == 22
    assert [a.ip_address for a in agw.backend_address_pools[0].backend_addresses] == ["10.50.1.21", "10.50.1.22"]
    assert agw.frontend_ports[0].port == 2200
    assert agw.gateway_ip_configurations[0].subnet.id.lower().endswith("/subnets/snet-appgw")
    assert [g.id for g in net.application_gateways.list_all()] == [agw.id]
    assert [g.id for g in net.application_gateways.list("rg-ingress")] == [agw.id]

    # a VNet's peerings as a child collection, as the VNet lists them
    hub = next(
        v for v in net.virtual_networks.list_all()
        if any(p.name == "hub-to-ingress" for p in v.virtual_network_peerings or [])
    )
    hub_rg = hub.id.split("/")[4]
    peerings = list(net.virtual_network_peerings.list(hub_rg, hub.name))
    assert [p.name for p in peerings] == ["hub-to-ingress"]
    peering = net.virtual_network_peerings.get(hub_rg, hub.name, "hub-to-ingress")
    assert peering.peering_state == "Connected"
    assert peering.remote_virtual_network.id.lower() == hub.virtual_network_peerings[0].remote_virtual_network.id.lower()
    with pytest.raises(ResourceNotFoundError):
        net.virtual_network_peerings.get(hub_rg, hub.name, "no-such-peering")
    assert [s.name for s in net.subnets.list(hub_rg, hub.name)] == [s.name for s in hub.subnets]

    # the Virtual Network Manager whose security admin rules a VNet gets
    managers = list(net.network_managers.list_by_subscription())
    assert [m.name for m in managers] == ["nm-contoso"], [m.name for m in managers]
    nm_rg = managers[0].id.split("/")[4]
    nm = net.network_managers.get(nm_rg, "nm-contoso")
    assert nm.network_manager_scope_accesses == ["SecurityAdmin"]
    assert nm.network_manager_scopes.subscriptions
    assert [m.id for m in net.network_managers.list(nm_rg)] == [nm.id]
    with pytest.raises(ResourceNotFoundError):
        net.network_managers.get(nm_rg, "no-such-manager")
    spoke = next(v for v in net.virtual_networks.list_all() if v.name != hub.name and v.virtual_network_peerings)
    rules = list(net.list_network_manager_effective_security_admin_rules(
        spoke.id.split("/")[4], spoke.name, QueryRequestOptions()).value)
    assert rules and all(r.id.lower().startswith(nm.id.lower() + "/") for r in rules)


def test_a_security_rule_through_the_long_running_poller(emulator):
    net, _ = clients(emulator, NetworkManagementClient)
    before = net.network_security_groups.get("rg-sql-lab", "sql-lab-01-nsg")
    rule = SecurityRule(
        protocol="Tcp", source_address_prefix="203.0.113.0/24", source_port_range="*",
        destination_address_prefix="*", destination_port_range="22", access="Allow",
        priority=3100, direction="Inbound",
    )
    created = net.security_rules.begin_create_or_update(
        "rg-sql-lab", "sql-lab-01-nsg", "sdk-ssh-office", rule
    ).result()
    assert created.name == "sdk-ssh-office" and created.provisioning_state == "Succeeded"
    after = net.network_security_groups.get("rg-sql-lab", "sql-lab-01-nsg")
    assert after.etag != before.etag, "a write gives the NSG a new ETag"
    assert any(r.name == "sdk-ssh-office" for r in after.security_rules)

    # a stale If-Match is refused with 412 and changes nothing
    stale = before.etag
    with pytest.raises(HttpResponseError) as e:
        net.network_security_groups.begin_create_or_update(
            "rg-sql-lab", "sql-lab-01-nsg", after, headers={"If-Match": stale}
        ).result()
    assert e.value.status_code == 412
    assert net.network_security_groups.get("rg-sql-lab", "sql-lab-01-nsg").etag == after.etag

    # the same priority twice, and an invalid port: 400 with ARM's error codes
    with pytest.raises(HttpResponseError) as e:
        net.security_rules.begin_create_or_update(
            "rg-sql-lab", "sql-lab-01-nsg", "sdk-dup", rule
        ).result()
    assert e.value.status_code == 400
    assert e.value.error.code == "SecurityRuleConflict", e.value.error.code
    bad = SecurityRule(
        protocol="Tcp", source_address_prefix="*", source_port_range="*",
        destination_address_prefix="*", destination_port_range="70000", access="Allow",
        priority=3200, direction="Inbound",
    )
    with pytest.raises(HttpResponseError) as e:
        net.security_rules.begin_create_or_update(
            "rg-sql-lab", "sql-lab-01-nsg", "sdk-bad", bad
        ).result()
    assert e.value.status_code == 400
    assert e.value.error.code == "SecurityRuleInvalidPortRange", e.value.error.code

    # delete through the poller: gone, and a second get is a 404
    net.security_rules.begin_delete("rg-sql-lab", "sql-lab-01-nsg", "sdk-ssh-office").result()
    with pytest.raises(ResourceNotFoundError):
        net.security_rules.get("rg-sql-lab", "sql-lab-01-nsg", "sdk-ssh-office")


def test_unknown_api_version_is_refused_as_arm_does(emulator):
    net, _ = clients(emulator, NetworkManagementClient)
    with pytest.raises(HttpResponseError) as e:
        net.network_security_groups.get("rg-sql-lab", "sql-lab-01-nsg", api_version="2099-01-01")
    assert e.value.status_code == 400
    assert e.value.error.code == "NoRegisteredProviderFound"


def test_secure_score_assessments_alerts(emulator):
    sec, _ = clients(emulator, SecurityCenter)
    scores = list(sec.secure_scores.list())
    assert scores and scores[0].max == scores[0].max  # parsed
    controls = list(sec.secure_score_controls.list())
    assert any(c.display_name == "Secure management ports" for c in controls)
    smp = next(c for c in controls if c.display_name == "Secure management ports")
    assert smp.max == 8 and smp.unhealthy_resource_count > 0
    assessments = list(sec.assessments.list(f"/subscriptions/{PRODUCTION}"))
    assert assessments, "assessments listed"
    names = {a.name for a in assessments}
    assert "bc303248-3d14-44c2-96a0-55f5c326b5fe" in names
    alerts = list(sec.alerts.list())
    assert all(a.id for a in alerts)


def test_defender_definitions_of_the_control(emulator):
    sec, _ = clients(emulator, SecurityCenter)
    keys = {
        "483f12ed-ae23-447e-a2de-a67a10db4353",
        "bc303248-3d14-44c2-96a0-55f5c326b5fe",
        "805651bc-6ecd-4c73-9b55-97a19d0582d0",
    }
    definitions = list(sec.secure_score_control_definitions.list())
    smp = next(d for d in definitions if d.display_name == "Secure management ports")
    assert smp.max_score == 8
    assert {a.id.split("/")[-1] for a in smp.assessment_definitions} == keys
    for key in keys:
        meta = sec.assessments_metadata.get(key)
        assert meta.assessment_type == "BuiltIn" and meta.policy_definition_id
    assert {m.name for m in sec.assessments_metadata.list()} == keys
    with pytest.raises(ResourceNotFoundError):
        sec.assessments_metadata.get("00000000-0000-0000-0000-000000000000")


def test_instance_view_and_load_balancer_children(emulator):
    compute, _ = clients(emulator, ComputeManagementClient)
    view = compute.virtual_machines.instance_view("rg-sql-lab", "sql-lab-01")
    assert "PowerState/running" in [s.code for s in view.statuses]
    vm = compute.virtual_machines.get("rg-sql-lab", "sql-lab-01", expand="instanceView")
    assert [s.code for s in vm.instance_view.statuses] == [s.code for s in view.statuses]
    assert compute.virtual_machines.get("rg-sql-lab", "sql-lab-01").instance_view is None

    net, _ = clients(emulator, NetworkManagementClient)
    lb = net.load_balancers.get("rg-ingress", "lb-edge")
    nat = list(net.inbound_nat_rules.list("rg-ingress", "lb-edge"))
    assert [r.name for r in nat] == [r.name for r in lb.inbound_nat_rules]
    one = net.inbound_nat_rules.get("rg-ingress", "lb-edge", nat[0].name)
    assert one.frontend_port == nat[0].frontend_port
    pools = list(net.load_balancer_backend_address_pools.list("rg-ingress", "lb-edge"))
    assert [p.name for p in pools] == [p.name for p in lb.backend_address_pools]
    with pytest.raises(ResourceNotFoundError):
        net.inbound_nat_rules.get("rg-ingress", "lb-edge", "no-such-rule")


def test_effective_network_security_groups(emulator):
    net, _ = clients(emulator, NetworkManagementClient)
    eff = net.network_interfaces.begin_list_effective_network_security_groups(
        "rg-sql-lab", "sql-lab-01-nic"
    ).result()
    nic = net.network_interfaces.get("rg-sql-lab", "sql-lab-01-nic")
    nsg = net.network_security_groups.get("rg-sql-lab", "sql-lab-01-nsg")
    own = [e for e in eff.value if e.association.network_interface]
    assert [e.network_security_group.id.lower() for e in own] == [nic.network_security_group.id.lower()]
    rules = {r.name: r for r in own[0].effective_security_rules}
    # every rule of the NSG, custom and default, named as Azure's effective view names them
    assert set(rules) == {f"securityRules/{r.name}" for r in nsg.security_rules} | {
        f"defaultSecurityRules/{r.name}" for r in nsg.default_security_rules
    }
    rdp = rules["securityRules/RDP"]
    assert (rdp.protocol, rdp.destination_port_range, rdp.source_port_range) == ("Tcp", "3389-3389", "0-65535")
    deny_all = rules["defaultSecurityRules/DenyAllInBound"]
    assert (deny_all.protocol, deny_all.source_address_prefix) == ("All", "0.0.0.0/0")
    vnet = rules["defaultSecurityRules/AllowVnetInBound"]
    assert vnet.source_address_prefix == "VirtualNetwork" and vnet.expanded_source_address_prefix

    # for every NIC: its own NSG and its subnet's, as the typed resources name them
    levels = set()
    for n in net.network_interfaces.list_all():
        rg = n.id.split("/")[4]
        subnet_id = n.ip_configurations[0].subnet.id
        parts = subnet_id.split("/")
        subnet = net.subnets.get(parts[4], parts[8], parts[10])
        want = set()
        if subnet.network_security_group:
            want.add(("subnet", subnet.network_security_group.id.lower()))
        if n.network_security_group:
            want.add(("nic", n.network_security_group.id.lower()))
        got = net.network_interfaces.begin_list_effective_network_security_groups(rg, n.name).result()
        assert {
            ("subnet" if e.association.subnet else "nic", e.network_security_group.id.lower())
            for e in got.value
        } == want, n.name
        levels |= {level for level, _ in want}
    assert levels == {"subnet", "nic"}, "both kinds of association were seen"
    with pytest.raises(ResourceNotFoundError):
        net.network_interfaces.begin_list_effective_network_security_groups("rg-sql-lab", "nope").result()


def test_tags_are_patched_whole_with_a_new_etag(emulator):
    from azure.mgmt.network.models import TagsObject

    net, _ = clients(emulator, NetworkManagementClient)
    nsg = next(iter(net.network_security_groups.list("rg-sql-lab")))
    patched = net.network_security_groups.update_tags("rg-sql-lab", nsg.name, TagsObject(tags={"owner": "secops"}))
    assert patched.tags == {"owner": "secops"} and patched.etag != nsg.etag
    assert [r.name for r in patched.security_rules] == [r.name for r in nsg.security_rules], "only the tags"
    again = net.network_security_groups.update_tags("rg-sql-lab", nsg.name, TagsObject(tags={"env": "lab"}))
    assert again.tags == {"env": "lab"}, "PATCH replaces the tags whole"
    # a stale If-Match is refused and changes nothing
    with pytest.raises(HttpResponseError) as e:
        net.network_security_groups.update_tags(
            "rg-sql-lab", nsg.name, TagsObject(tags={"x": "y"}), headers={"If-Match": patched.etag}
        )
    assert e.value.status_code == 412
    assert net.network_security_groups.get("rg-sql-lab", nsg.name).tags == {"env": "lab"}

    compute, _ = clients(emulator, ComputeManagementClient)
    vm = compute.virtual_machines.begin_update("rg-sql-lab", "sql-lab-01", {"tags": {"tier": "db"}}).result()
    assert vm.tags == {"tier": "db"}
    with pytest.raises(HttpResponseError) as e:
        compute.virtual_machines.begin_update(
            "rg-sql-lab", "sql-lab-01", {"properties": {"licenseType": "Windows_Server"}}
        ).result()
    assert e.value.status_code == 400


def test_jit_policies_list_create_initiate(emulator):
    sec, _ = clients(emulator, SecurityCenter)
    policies = list(sec.jit_network_access_policies.list())
    assert any(p.name == "default" for p in policies)
    vm = f"/subscriptions/{PRODUCTION}/resourceGroups/rg-sql-lab/providers/Microsoft.Compute/virtualMachines/sql-lab-01"
    from azure.mgmt.security.models import (
        JitNetworkAccessPolicy, JitNetworkAccessPolicyVirtualMachine, JitNetworkAccessPortRule,
        JitNetworkAccessPolicyInitiateRequest, JitNetworkAccessPolicyInitiateVirtualMachine,
        JitNetworkAccessPolicyInitiatePort,
    )
    policy = JitNetworkAccessPolicy(
        kind="Basic",
        virtual_machines=[JitNetworkAccessPolicyVirtualMachine(
            id=vm,
            ports=[JitNetworkAccessPortRule(number=3389, protocol="*", allowed_source_address_prefix="*",
                                            max_request_access_duration="PT3H")],
        )],
    )
    created = sec.jit_network_access_policies.create_or_update("rg-sql-lab", "westeurope", "sdk-jit", policy)
    assert created.provisioning_state == "Succeeded"
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    req = JitNetworkAccessPolicyInitiateRequest(
        virtual_machines=[JitNetworkAccessPolicyInitiateVirtualMachine(
            id=vm, ports=[JitNetworkAccessPolicyInitiatePort(number=3389, end_time_utc=end,
                                                             allowed_source_address_prefix="203.0.113.7")],
        )],
        justification="sdk judge " + uuid.uuid4().hex[:6],
    )
    started = sec.jit_network_access_policies.initiate("rg-sql-lab", "westeurope", "sdk-jit", req)
    assert started.virtual_machines[0].ports[0].number == 3389
    # JIT made its deny rule and the request's allow rule exist in the NSG
    net, _ = clients(emulator, NetworkManagementClient)
    rules = net.network_security_groups.get("rg-sql-lab", "sql-lab-01-nsg").security_rules
    jit = [r for r in rules if r.name.startswith("SecurityCenter-JITRule")]
    assert any(r.access == "Deny" for r in jit) and any(r.access == "Allow" for r in jit), [r.name for r in jit]


def test_client_request_id_is_echoed(emulator):
    """ARM echoes `x-ms-client-request-id`; the SDK sends one with every request."""
    net, _ = clients(emulator, NetworkManagementClient)
    seen = {}

    def hook(response):
        seen["sent"] = response.http_request.headers.get("x-ms-client-request-id")
        seen["echoed"] = response.http_response.headers.get("x-ms-client-request-id")

    net.network_security_groups.get("rg-sql-lab", "sql-lab-01-nsg", raw_response_hook=hook)
    assert seen["sent"] and seen["echoed"] == seen["sent"], seen


def test_resource_graph_query_pages(emulator):
    from azure.mgmt.resourcegraph import ResourceGraphClient
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    cred = EmulatorCredential(emulator)
    client = ResourceGraphClient(cred, base_url=emulator, authentication_policy=PlainHttpBearerPolicy(cred, SCOPE))
    query = "Resources | where type =~ 'microsoft.network/networksecuritygroups' | order by id asc"
    rows, token = [], None
    while True:
        r = client.resources(QueryRequest(
            subscriptions=[PRODUCTION, DEV_TEST], query=query,
            options=QueryRequestOptions(result_format="objectArray", top=10, skip_token=token),
        ))
        rows.extend(r.data)
        token = r.skip_token
        if not token:
            break
    assert r.total_records == len(rows) > 10
    assert all(row["type"] == "microsoft.network/networksecuritygroups" for row in rows)
    assert [row["id"].lower() for row in rows] == sorted(row["id"].lower() for row in rows)
    # the packed summary (one row per subscription and type) holds the same NSGs, each list as
    # long as its count; a summary has one page
    packed = ("Resources | where type in~ ('microsoft.network/networksecuritygroups') | summarize n = count(), "
              "rows = make_list(pack('id', id, 'name', name, 'type', type, 'location', location, 'tags', tags, "
              "'sku', sku, 'properties', properties)) by subscriptionId, type")
    summary = client.resources(QueryRequest(
        subscriptions=[PRODUCTION, DEV_TEST], query=packed,
        options=QueryRequestOptions(result_format="objectArray", top=1000),
    ))
    assert summary.result_truncated == "false" and summary.skip_token is None
    assert {row["subscriptionId"] for row in summary.data} == {PRODUCTION, DEV_TEST}
    assert all(row["n"] == len(row["rows"]) for row in summary.data)
    assert sorted(r["id"].lower() for row in summary.data for r in row["rows"]) == [row["id"].lower() for row in rows]
    # a query Portcullis does not send is refused as Resource Graph does
    with pytest.raises(HttpResponseError) as e:
        client.resources(QueryRequest(subscriptions=[PRODUCTION], query="Resources | summarize count()"))
    assert e.value.status_code == 400
    # a management group scope: the group that holds the subscriptions reads the same rows;
    # one that does not exist is refused
    by_group = client.resources(QueryRequest(
        management_groups=["contoso"], query=query,
        options=QueryRequestOptions(result_format="objectArray", top=1000),
    ))
    assert [row["id"] for row in by_group.data] == [row["id"] for row in rows]
    with pytest.raises(HttpResponseError) as e:
        client.resources(QueryRequest(management_groups=["nowhere"], query=query))
    assert e.value.status_code == 400 and "ManagementGroupsContainInvalidIds" in e.value.message
