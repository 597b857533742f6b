#!/usr/bin/env python3
"""The naive check the end-to-end benchmark compares `portcullis evaluate` with.

    python3 naive_baseline.py INVENTORY.json > out.json

It loads the whole inventory with `json.load`, joins VMs to NICs, NICs to subnets and NSGs by
lower-cased id, and calls a management port open when some inbound Allow rule of the subnet or
NIC NSG names the port (or `*`, or a range holding it) and a source of `*`, `Internet`,
`0.0.0.0/0` or `::/0`: a per-rule string match, with no priorities, no Deny, no address sets,
no paths. Standard library only. It is what a hurried script does, not a correct evaluation.
"""
import json
import sys

PORTS = (22, 3389, 5985, 5986)
ANYWHERE = {"*", "internet", "0.0.0.0/0", "::/0", "any"}


def port_matches(spec, port):
    spec = spec.strip()
    if spec == "*":
        return True
    if "-" in spec:
        lo, _, hi = spec.partition("-")
        return lo.strip().isdigit() and hi.strip().isdigit() and int(lo) <= port <= int(hi)
    return spec.isdigit() and int(spec) == port


def open_ports(rules):
    found = set()
    for r in rules:
        p = r.get("properties") or {}
        if (p.get("direction") or "").lower() != "inbound" or (p.get("access") or "").lower() != "allow":
            continue
        if (p.get("protocol") or "*").lower() not in ("*", "tcp"):
            continue
        sources = [p.get("sourceAddressPrefix") or ""] + list(p.get("sourceAddressPrefixes") or [])
        if not any(s.strip().lower() in ANYWHERE for s in sources):
            continue
        dports = [p.get("destinationPortRange") or ""] + list(p.get("destinationPortRanges") or [])
        for port in PORTS:
            if any(port_matches(d, port) for d in dports if d):
                found.add(port)
    return found


def main(path):
    with open(path, "rb") as f:
        inv = json.load(f)
    nsgs = {}
    for n in inv.get("networkSecurityGroups") or []:
        nsgs[n["id"].lower()] = open_ports((n.get("properties") or {}).get("securityRules") or [])
    subnet_nsg = {}
    for v in inv.get("virtualNetworks") or []:
        for s in (v.get("properties") or {}).get("subnets") or []:
            g = ((s.get("properties") or {}).get("networkSecurityGroup") or {}).get("id")
            if s.get("id"):
                subnet_nsg[s["id"].lower()] = g.lower() if g else None
    nics = {n["id"].lower(): n for n in inv.get("networkInterfaces") or []}
    out = []
    for vm in inv.get("virtualMachines") or []:
        exposed = set()
        profile = ((vm.get("properties") or {}).get("networkProfile") or {}).get("networkInterfaces") or []
        for ref in profile:
            nic = nics.get((ref.get("id") or "").lower())
            if nic is None:
                continue
            props = nic.get("properties") or {}
            nic_nsg = (props.get("networkSecurityGroup") or {}).get("id")
            for c in props.get("ipConfigurations") or []:
                sub = (((c.get("properties") or {}).get("subnet") or {}).get("id") or "").lower()
                levels = [g for g in (subnet_nsg.get(sub), nic_nsg.lower() if nic_nsg else None) if g]
                if not levels:
                    exposed.update(PORTS)
                for g in levels:
                    exposed.update(nsgs.get(g, set()))
        out.append({"id": vm.get("id"), "name": vm.get("name"), "openPorts": sorted(exposed)})
    json.dump({"vms": out}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
