//! Snapshot of the `portcullis evaluate` JSON for a small fleet: the contract other tools read.
use portcullis_shared::fleet::{InventoryBuilder, Rule, VmSpec};
use portcullis_shared::{evaluate, EvalConfig};

#[test]
fn small_fleet_report() {
    let mut b = InventoryBuilder::new("11111111-1111-1111-1111-111111111111");
    let lab = b.nsg(
        "lab",
        "sql-lab-nsg",
        vec![
            Rule::allow("RDP", 300).port("3389").from("*"),
            Rule::allow("SQL", 310).port("1433").from("VirtualNetwork"),
        ],
    );
    let office = b.nsg(
        "corp",
        "office-nsg",
        vec![Rule::allow("SSH-office", 200)
            .port("22")
            .from("203.0.113.0/24")],
    );
    let jit = b.nsg(
        "corp",
        "jit-nsg",
        vec![
            Rule::allow("SecurityCenter-JITRule-1-0A1B", 100)
                .port("3389")
                .from("198.51.100.7")
                .to("10.20.1.6")
                .protocol("*"),
            Rule::deny("SecurityCenter-JITRule_1_0A1B", 4096)
                .port("3389")
                .to("10.20.1.6")
                .protocol("*"),
        ],
    );
    let web_subnet = b.nsg(
        "corp",
        "web-subnet-nsg",
        vec![Rule::allow("HTTPS", 100).port("443").from("Internet")],
    );
    let lab_net = b.vnet(
        "lab",
        "lab-vnet",
        &["10.10.0.0/16"],
        &[("default", "10.10.1.0/24", None)],
    );
    let corp_net = b.vnet(
        "corp",
        "corp-vnet",
        &["10.20.0.0/16"],
        &[
            ("apps", "10.20.1.0/24", None),
            ("web", "10.20.2.0/24", Some(&web_subnet)),
        ],
    );
    let vm = |b: &mut InventoryBuilder,
              name: &str,
              rg: &str,
              os: &str,
              subnet: &str,
              ip: &str,
              public: Option<&str>,
              nsg: Option<&str>| {
        b.vm(&VmSpec {
            name,
            resource_group: rg,
            os,
            subnet_id: subnet,
            private_ip: ip,
            public_ip: public,
            nic_nsg_id: nsg,
            asg_ids: &[],
        })
    };
    vm(
        &mut b,
        "sql-lab-01",
        "lab",
        "Windows",
        &lab_net[0],
        "10.10.1.4",
        Some("20.50.1.2"),
        Some(&lab),
    );
    vm(
        &mut b,
        "build-01",
        "lab",
        "Linux",
        &lab_net[0],
        "10.10.1.5",
        Some("20.50.1.3"),
        None,
    );
    vm(
        &mut b,
        "app-01",
        "corp",
        "Linux",
        &corp_net[0],
        "10.20.1.5",
        Some("20.60.1.5"),
        Some(&office),
    );
    let jit_vm = vm(
        &mut b,
        "app-02",
        "corp",
        "Windows",
        &corp_net[0],
        "10.20.1.6",
        Some("20.60.1.6"),
        Some(&jit),
    );
    vm(
        &mut b,
        "web-01",
        "corp",
        "Linux",
        &corp_net[1],
        "10.20.2.4",
        Some("20.60.2.4"),
        None,
    );
    b.jit("corp", &jit_vm, &[22, 3389], "Succeeded");
    let report = evaluate(&b.build(), &EvalConfig::default()).unwrap();
    assert_eq!((report.control.healthy, report.control.unhealthy), (3, 2));
    insta::assert_json_snapshot!(report);
}
